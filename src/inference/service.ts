import type { Caller } from '../auth/caller.ts';
import type { InferenceConfig } from '../config.ts';
import { type Conversation, Prisma, type PrismaClient } from '../generated/prisma/client.ts';
import { AppError } from '../errors.ts';
import type { Limits } from '../limits/limits.ts';
import type { Logger } from '../logger.ts';
import { CONVERSATION_ORDER, NEWEST_CONVERSATION_FIRST } from '../services/conversations.ts';
import { type ChatEventBus, publishChatEvent } from '../services/events.ts';
import { isUuid } from '../services/inputs.ts';
import { finalEvent, groundingOf } from './events.ts';
import { Generation, GenerationStopped, type Prepared } from './generation.ts';
import { ground, groundedSystemPrompt } from './grounding.ts';
import { Listener } from './listener.ts';
import type { ChatModel } from './model.ts';
import { buildPrompt } from './prompt.ts';
import type { WebSearch } from './search.ts';

/** Rows per UPDATE of the periodic save: far below PostgreSQL's 65,535 bind parameters (2 per row). */
const SAVE_BATCH_ROWS = 1_000;

export interface OpenOptions {
  /** Who asks: the question must be in one of their chats, and limits count against them. */
  caller: Caller;
  /** Ask for a new reply even if one is stored. */
  regenerate?: boolean;
  /** Resume after this event id (SSE Last-Event-ID). */
  lastEventId?: number;
  /** Ground the answer in web search results. */
  internet?: boolean;
}

/**
 * Answers Human messages, one generation per message and kind (plain or internet) at a time (single
 * flight): a second listener joins the running generation, a finished reply is replayed from the
 * store, and only `regenerate` starts a new one. REST's SSE routes and GraphQL's `inference`
 * subscription both come here.
 */
export class InferenceService {
  private readonly running = new Map<string, Generation>();
  /** Generation starts being counted against their caller's limits, by the same key as `running`. */
  private readonly starting = new Map<string, Promise<Generation>>();
  private closing = false;
  private readonly saver: NodeJS.Timeout;
  private saving: Promise<void> | undefined;

  constructor(
    private readonly deps: {
      prisma: PrismaClient;
      model: ChatModel | null;
      search: WebSearch | null;
      config: InferenceConfig;
      events: ChatEventBus;
      limits: Limits;
      logger: Logger;
    },
  ) {
    this.saver = setInterval(() => void this.saveRunning(), deps.config.saveIntervalMs).unref();
  }

  /**
   * Writes the text so far of every running generation, a batch of rows per statement (one UPDATE
   * per generation per interval cost a thousand statements a second at a thousand streams),
   * refreshing `updated_at`, which tells other instances a generation is alive. Only rows still
   * streaming are touched, so a late batch never overwrites a final save. One round at a time: a slow
   * database skips ticks rather than piling them up.
   */
  private saveRunning(): Promise<void> {
    if (this.saving) return this.saving;
    const rows = [...this.running.values()].flatMap((generation) => generation.progress() ?? []);
    if (rows.length === 0) return Promise.resolve();
    this.saving = (async () => {
      for (let start = 0; start < rows.length; start += SAVE_BATCH_ROWS) {
        const batch = rows.slice(start, start + SAVE_BATCH_ROWS);
        // A batch that fails is retried row by row, so that one bad row cannot stop every other reply's saves.
        if (!(await this.saveRows(batch)) && batch.length > 1) for (const row of batch) await this.saveRows([row]);
      }
    })().finally(() => {
      this.saving = undefined;
    });
    return this.saving;
  }

  /** One UPDATE for `rows`; false (logged) when it failed. */
  private async saveRows(rows: { id: string; message: string }[]): Promise<boolean> {
    try {
      const values = Prisma.join(rows.map((row) => Prisma.sql`(${row.id}::uuid, ${row.message})`));
      await this.deps.prisma.$executeRaw`
        UPDATE conversations AS c SET message = v.message, updated_at = now()
        FROM (VALUES ${values}) AS v (id, message)
        WHERE c.id = v.id AND c.status = 'streaming'`;
      return true;
    } catch (error) {
      this.deps.logger.error({ err: error, replies: rows.map((row) => row.id) }, 'saving running replies failed');
      return false;
    }
  }

  /**
   * The events answering `id` (a Human message, or a chat meaning its latest Human message), or
   * null when the listener already has them all (it reconnected after the final event). Every
   * refusal happens here, before any event: 503, 429, 404, 422, 409.
   */
  async open(id: string, options: OpenOptions): Promise<Listener | null> {
    const { model, search } = this.deps;
    const internet = options.internet ?? false;
    if (this.closing) throw new AppError('SERVICE_UNAVAILABLE', 'The server is shutting down');
    if (!model) {
      throw new AppError('SERVICE_UNAVAILABLE', 'No model server is configured: set TGI_URL (or HF_MODEL and HF_TOKEN)');
    }
    if (internet && !search) {
      throw new AppError('SERVICE_UNAVAILABLE', 'Web search is not configured on this gateway: set SERPAPI_API_KEY');
    }
    // The stream holds one of the caller's slots until it ends or its client leaves; a refusal frees it at once.
    const release = await this.deps.limits.openStream(options.caller);
    try {
      const listener = await this.listen(id, options, model);
      if (listener) listener.onClosed(release);
      else release();
      return listener;
    } catch (error) {
      release();
      throw error;
    }
  }

  /** open's work once the stream slot is held. */
  private async listen(id: string, options: OpenOptions, model: ChatModel): Promise<Listener | null> {
    const { search, limits } = this.deps;
    const internet = options.internet ?? false;
    const { replies, ...question } = await this.question(id, internet);
    // Plain and internet answers to one message are separate replies, each with its own single flight.
    const key = `${question.id}:${internet ? 'internet' : 'plain'}`;
    const after = options.lastEventId ?? 0;
    // After each await, a concurrent request may have started the generation (and stored its row).
    const joined = this.join(key, after);
    if (joined) return joined;
    let latest: Conversation | undefined = replies[0];
    const ending = this.running.get(key);
    if (ending || latest?.status === 'streaming') {
      // Ending right now, or finished here since it was read: decide from what it stores once done
      // (a failed one is then generated anew; one still streaming is another instance's or an orphan).
      await ending?.finished;
      latest = (await this.latestReply(question.id, internet)) ?? undefined;
      const startedMeanwhile = this.join(key, after);
      if (startedMeanwhile) return startedMeanwhile;
    }
    if (latest?.status === 'streaming') latest = await this.settleOrphan(latest);
    if (latest && !options.regenerate) {
      // A reconnect resumes whatever the last reply was; a new listener gets a stored answer again
      // but a new attempt when the last one did not complete.
      if (latest.status === 'complete' || options.lastEventId !== undefined) return replay(latest, after);
    }
    const concurrent = this.running.get(key);
    if (concurrent) return concurrent.listen(after);
    const { generation, startedHere } = await this.startCounted(key, options, () =>
      this.start(key, question, model, internet ? search : null),
    );
    if (!startedHere) return generation.listen(after);
    void generation.finished.then((reply) => limits.chargeCompletion(options.caller, reply));
    return generation.listen(0);
  }

  /**
   * Starts the generation of `key` once the caller's limits have counted it (RATE_LIMITED before
   * anything is stored otherwise). A request for the same reply arriving while that count is under
   * way (a double click on regenerate) waits for it, then joins the generation uncounted, or is
   * counted itself if the first was refused.
   */
  private async startCounted(
    key: string,
    options: OpenOptions,
    start: () => Generation,
  ): Promise<{ generation: Generation; startedHere: boolean }> {
    for (let pending = this.starting.get(key); pending; pending = this.starting.get(key)) {
      await pending.catch(() => undefined);
      const started = this.running.get(key);
      if (started) return { generation: started, startedHere: false };
    }
    const starting = (async () => {
      try {
        await this.deps.limits.countGenerationStart(options.caller, { internet: options.internet ?? false });
        return start();
      } finally {
        this.starting.delete(key);
      }
    })();
    this.starting.set(key, starting);
    return { generation: await starting, startedHere: true };
  }

  /** A new listener of the generation running under `key`, unless none is (or it is ending). */
  private join(key: string, after: number): Listener | undefined {
    const running = this.running.get(key);
    return running && !running.settling ? running.listen(after) : undefined;
  }

  /** Refuses new inference, stops every generation (stored as incomplete) and waits for them to be saved. */
  async shutdown(): Promise<void> {
    this.closing = true;
    // Requests already past the closing check may still start one: repeat until none is left.
    while (this.running.size > 0) {
      const generations = [...this.running.values()];
      for (const generation of generations) {
        generation.stop(new GenerationStopped('SHUTDOWN', 'The server shut down before the reply was finished'));
      }
      await Promise.allSettled(generations.map((generation) => generation.finished));
    }
    clearInterval(this.saver);
    // The database closes next: let a round of saves already under way finish first.
    await this.saving;
  }

  private latestReply(questionId: string, internet: boolean): Promise<Conversation | null> {
    return this.deps.prisma.conversation.findFirst({ where: { replyToId: questionId, internet }, orderBy: NEWEST_CONVERSATION_FIRST });
  }

  /** The Human message `id` names, with its latest reply of the kind asked for (one Prisma call). */
  private async question(id: string, internet: boolean): Promise<Conversation & { replies: Conversation[] }> {
    const notFound = () => new AppError('NOT_FOUND', `No conversation or chat ${JSON.stringify(id)}`);
    if (!isUuid(id)) throw notFound();
    const { prisma } = this.deps;
    const latestReply = { where: { internet }, orderBy: NEWEST_CONVERSATION_FIRST, take: 1 };
    const conversation = await prisma.conversation.findUnique({ where: { id }, include: { replies: latestReply } });
    if (conversation?.role === 'Assistant') {
      throw new AppError('VALIDATION_FAILED', `Conversation ${id} is an Assistant message: ask with the Human message it answers`);
    }
    if (conversation) return conversation;
    const chat = await prisma.chat.findUnique({
      where: { id },
      include: {
        conversations: { where: { role: 'Human' }, orderBy: NEWEST_CONVERSATION_FIRST, take: 1, include: { replies: latestReply } },
      },
    });
    if (!chat) throw notFound();
    const latest = chat.conversations[0];
    if (!latest) throw new AppError('NOT_FOUND', `Chat ${id} has no Human message to answer`);
    return latest;
  }

  /**
   * A reply stored as streaming that this process is not generating: another instance is (it saves
   * at least every saveIntervalMs), or one that died mid-generation left it behind.
   */
  private async settleOrphan(reply: Conversation): Promise<Conversation> {
    const staleAfter = Math.max(15_000, 10 * this.deps.config.saveIntervalMs);
    if (Date.now() - reply.updatedAt.getTime() < staleAfter) {
      throw new AppError('CONFLICT', 'Another gateway instance is generating this reply; retry when it has finished');
    }
    return this.deps.prisma.conversation.update({
      where: { id: reply.id },
      data: { status: 'incomplete', errorCode: 'INTERRUPTED', errorDetail: 'The server generating the reply stopped' },
    });
  }

  /** A new generation answering `question`, grounded in a web search when `search` is given. */
  private start(key: string, question: Conversation, model: ChatModel, search: WebSearch | null): Generation {
    const { prisma, config, events, logger } = this.deps;
    // The reply row exists before the first token, so the generation is never unaccounted for.
    const placeholder: Conversation = {
      id: crypto.randomUUID(),
      seq: 0n,
      role: 'Assistant',
      chatId: question.chatId,
      message: '',
      createdAt: new Date(),
      updatedAt: new Date(),
      replyToId: question.id,
      status: 'streaming',
      finishReason: null,
      promptTokens: null,
      completionTokens: null,
      totalTokens: null,
      errorCode: null,
      errorDetail: null,
      internet: search !== null,
      searchQuery: null,
      sources: null,
      searchErrorCode: null,
      searchErrorDetail: null,
    };
    const generation = new Generation(
      placeholder,
      { prisma, model, config, logger },
      async (signal): Promise<Prepared> => {
        const history = await prisma.conversation.findMany({
          where: { chatId: question.chatId, seq: { lte: question.seq } },
          orderBy: CONVERSATION_ORDER,
        });
        if (!search) return { prompt: buildPrompt(config.systemPrompt, history, question, config.historyChars) };
        const grounding = await ground(search, history, question, signal, logger);
        const systemPrompt = groundedSystemPrompt(config.systemPrompt, grounding, new Date());
        return { prompt: buildPrompt(systemPrompt, history, question, config.historyChars), grounding };
      },
      async () => {
        const reply = await prisma.conversation.create({ data: { ...placeholder, seq: undefined, sources: undefined } });
        publishChatEvent(events, { type: 'GENERATION_STARTED', chatId: question.chatId, conversation: reply });
        return reply;
      },
    );
    this.running.set(key, generation);
    void generation.finished.then((reply) => {
      this.running.delete(key);
      const type = reply.status === 'complete' ? 'GENERATION_FINISHED' : 'GENERATION_FAILED';
      publishChatEvent(events, { type, chatId: reply.chatId, conversation: reply });
    });
    return generation;
  }
}

/** A stored reply as events after position `after`; null when there is nothing left to send. */
function replay(reply: Conversation, after: number): Listener | null {
  const last = finalEvent(reply);
  if (after >= last.id) return null;
  const listener = new Listener(3);
  const grounding = groundingOf(reply);
  if (grounding) listener.push({ type: 'sources', id: after, ...grounding });
  if (reply.message.length > after) listener.push({ type: 'token', id: reply.message.length, text: reply.message.slice(after) });
  listener.push(last);
  return listener;
}
