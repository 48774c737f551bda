import type { InferenceConfig } from '../config.ts';
import type { Conversation, PrismaClient } from '../generated/prisma/client.ts';
import { AppError } from '../errors.ts';
import type { Limits } from '../limits/limits.ts';
import type { Logger } from '../logger.ts';
import type { Metrics } from '../observability/metrics.ts';
import type { Caller } from '../services/caller.ts';
import { visibleChats } from '../services/chats.ts';
import { NEWEST_CONVERSATION_FIRST, visibleConversations } from '../services/conversations.ts';
import { type ChatEventBus, publishChatEvent } from '../services/events.ts';
import { isUuid } from '../services/inputs.ts';
import type { ChatModel } from '../upstream/model.ts';
import type { WebSearch } from '../upstream/search.ts';
import { finalEvent, finalPosition, groundingOf, parseEventId, type ReplyPosition } from './events.ts';
import { Generation, GenerationStopped } from './generation.ts';
import { Listener } from './listener.ts';
import { ReplyPrompt } from './prompt.ts';
import { ReplyStore } from './reply-store.ts';

const MAX_QUEUED_EVENTS = 10_000;

export interface OpenOptions {
  /** Who asks: the question must be in one of their chats, and limits count against them. */
  caller: Caller;
  /** Ask for a new reply even if one is stored. */
  regenerate?: boolean;
  /** Resume after this event id (SSE Last-Event-ID: `<reply id>.<position>`). */
  lastEventId?: string;
  /** Ground the answer in web search results. */
  internet?: boolean;
}

export interface ReplyServiceDependencies {
  prisma: PrismaClient;
  model: ChatModel | null;
  search: WebSearch | null;
  config: InferenceConfig;
  events: ChatEventBus;
  limits: Limits;
  logger: Logger;
  metrics: Metrics;
  /** The database is embedded (PGlite): only this process can have left replies streaming in it. */
  embeddedDatabase: boolean;
}

type Question = Conversation & { latest: Conversation | undefined; ownerId: string };

/**
 * Answers Human messages, one generation per message and kind (plain or internet) at a time (single
 * flight): a second listener joins the running generation, a finished reply is replayed from the
 * store, and only `regenerate` starts a new one. A listener that reconnects with the id of the last
 * event it got resumes that very reply. REST's SSE routes and GraphQL's `inference` subscription both
 * come here.
 */
export class ReplyService {
  /** Running generations by `<question id>:<kind>`. */
  private readonly running = new Map<string, Generation>();
  /** Generation starts being counted against their caller's limits, by the same key as `running`. */
  private readonly starting = new Map<string, Promise<Generation>>();
  private readonly store: ReplyStore;
  private readonly timers: NodeJS.Timeout[];
  private closing = false;

  constructor(private readonly deps: ReplyServiceDependencies) {
    const { config } = deps;
    this.store = new ReplyStore(deps.prisma, { saveIntervalMs: config.saveIntervalMs, leaseMs: config.leaseMs }, deps.logger);
    this.timers = [
      setInterval(() => void this.store.saveProgress(), config.saveIntervalMs).unref(),
      setInterval(() => void this.recover(), config.leaseMs).unref(),
    ];
    void this.recover({ everyStreaming: deps.embeddedDatabase });
  }

  /**
   * The events answering `id` (a Human message, or a chat meaning its latest Human message), or null
   * when the listener already has all of the reply it resumes. Every refusal happens here, before any
   * event: 503, 429, 404, 422.
   */
  async open(id: string, options: OpenOptions): Promise<Listener | null> {
    const listener = await this.listenerFor(id, options);
    if (listener) this.deps.metrics.streamOpened(new Promise((closed) => listener.onClosed(closed)));
    return listener;
  }

  private async listenerFor(id: string, options: OpenOptions): Promise<Listener | null> {
    const { model, search } = this.deps;
    const internet = options.internet ?? false;
    if (this.closing) throw new AppError('SERVICE_UNAVAILABLE', 'The server is shutting down');
    if (!model) {
      throw new AppError('SERVICE_UNAVAILABLE', 'No model server is configured: set TGI_URL (or HF_MODEL and HF_TOKEN)');
    }
    if (internet && !search) {
      throw new AppError('SERVICE_UNAVAILABLE', 'Web search is not configured on this gateway: set SERPAPI_API_KEY');
    }
    const resume = options.lastEventId === undefined || options.lastEventId === '' ? undefined : parseResume(options.lastEventId);
    // The stream holds one of the caller's slots until it ends or its client leaves; a refusal frees it at once.
    const release = await this.deps.limits.openStream(options.caller);
    try {
      const listener = await this.answer(id, options, model, resume);
      if (listener) listener.onClosed(release);
      else release();
      return listener;
    } catch (error) {
      release();
      throw error;
    }
  }

  /** open's work once the stream slot is held. */
  private async answer(id: string, options: OpenOptions, model: ChatModel, resume: ReplyPosition | undefined): Promise<Listener | null> {
    const { search } = this.deps;
    const internet = options.internet ?? false;
    const question = await this.question(options.caller, id, internet);
    // Plain and internet answers to one message are separate replies, each with its own single flight.
    const key = `${question.id}:${internet ? 'internet' : 'plain'}`;
    if (resume) return this.resume(key, question, internet, resume);

    const running = await this.runningOrSettled(key);
    if (running) return running.listen(0);
    let latest = question.latest;
    if (latest?.status === 'streaming') latest = (await this.store.current(latest.id)) ?? undefined;
    // Another process is generating it (its lease is alive): follow it, never start a second one.
    if (latest?.status === 'streaming') return this.follow(latest, 0);
    if (latest?.status === 'complete' && !options.regenerate) return replay(latest, 0);
    // Requests that raced past the checks above join the first one's generation.
    const concurrent = this.running.get(key);
    if (concurrent) return concurrent.listen(0);
    const { generation, startedHere } = await this.startCounted(key, options.caller, internet, () =>
      this.start(key, question, model, internet ? search : null),
    );
    if (startedHere) {
      void generation.finished.then((reply) => reply && this.deps.limits.chargeCompletion(options.caller, reply));
    }
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
    caller: Caller,
    internet: boolean,
    start: () => Generation,
  ): Promise<{ generation: Generation; startedHere: boolean }> {
    for (let pending = this.starting.get(key); pending; pending = this.starting.get(key)) {
      await pending.catch(() => undefined);
      const started = this.running.get(key);
      if (started) return { generation: started, startedHere: false };
    }
    const starting = (async () => {
      try {
        await this.deps.limits.countGenerationStart(caller, { internet });
        return start();
      } finally {
        this.starting.delete(key);
      }
    })();
    this.starting.set(key, starting);
    return { generation: await starting, startedHere: true };
  }

  /** The listener of a reconnect that holds `resume`: the rest of that reply, or null if it has it all. */
  private async resume(key: string, question: Question, internet: boolean, resume: ReplyPosition): Promise<Listener | null> {
    const running = await this.runningOrSettled(key);
    if (running?.replyId === resume.replyId) return running.listen(resume.position);
    const reply = await this.store.current(resume.replyId);
    if (!reply || reply.replyToId !== question.id || reply.internet !== internet) {
      throw new AppError('VALIDATION_FAILED', 'Last-Event-ID names a reply to another message: reconnect without it');
    }
    if (reply.status === 'streaming') return this.follow(reply, resume.position);
    // The final event's position: the client has seen it, so it has the whole reply (cut off or not).
    if (resume.position === finalPosition(reply)) return null;
    return replay(reply, resume.position);
  }

  /** The generation running under `key`, once any that is ending has been saved (then undefined). */
  private async runningOrSettled(key: string): Promise<Generation | undefined> {
    const running = this.running.get(key);
    if (!running?.settling) return running;
    await running.finished;
    return this.running.get(key);
  }

  /**
   * A reply another process is generating, followed through the store: each save interval sends what
   * was saved since, until the reply is final (or its generator dies and the lease lapses).
   */
  private follow(reply: Conversation, after: number): Listener {
    const listener = new Listener(reply.id, MAX_QUEUED_EVENTS, () => clearInterval(timer));
    const grounding = groundingOf(reply);
    if (grounding?.query) listener.push({ type: 'sources', position: after, ...grounding });
    let sent = after;
    let polling = false;
    const poll = async () => {
      if (polling) return;
      polling = true;
      try {
        const current = await this.store.current(reply.id);
        if (!current) return listener.push({ type: 'error', position: sent + 1, code: 'NOT_FOUND', detail: 'The reply was deleted' });
        if (current.message.length > sent) {
          listener.push({ type: 'token', position: current.message.length, text: current.message.slice(sent) });
          sent = current.message.length;
        }
        if (current.status !== 'streaming') {
          clearInterval(timer);
          listener.push(finalEvent(current));
        }
      } catch (error) {
        this.deps.logger.warn({ err: error, replyId: reply.id }, 'following a reply failed; retrying');
      } finally {
        polling = false;
      }
    };
    const timer = setInterval(() => void poll(), this.deps.config.saveIntervalMs);
    void poll();
    return listener;
  }

  /** Refuses new inference, stops every generation and waits until they are saved or `deadlineMs` passes. */
  async shutdown(deadlineMs: number): Promise<void> {
    this.closing = true;
    for (const timer of this.timers) clearInterval(timer);
    const deadline = new Promise((resolve) => setTimeout(resolve, deadlineMs).unref());
    // Requests already past the closing check may still start one: repeat until none is left.
    while (this.running.size > 0) {
      const generations = [...this.running.values()];
      for (const generation of generations) {
        generation.stop(new GenerationStopped('SHUTDOWN', 'The server shut down before the reply was finished'));
      }
      const saved = Promise.allSettled(generations.map((generation) => generation.finished));
      if ((await Promise.race([saved.then(() => true), deadline.then(() => false)])) === false) break;
    }
    // The database closes next: final saves still failing give up now (recovery settles those rows).
    await this.store.close();
    await Promise.allSettled([...this.running.values()].map((generation) => generation.finished));
  }

  /** Settles replies a dead process left streaming, and tells their chats' subscribers. */
  private async recover(options: { everyStreaming?: boolean } = {}): Promise<void> {
    try {
      const settled = await this.store.settleOrphans(options);
      for (const reply of settled) await this.publishOutcome(reply);
    } catch (error) {
      this.deps.logger.warn({ err: error }, 'settling orphaned replies failed; will retry');
    }
  }

  private async publishOutcome(reply: Conversation, ownerId?: string): Promise<void> {
    const owner =
      ownerId ?? (await this.deps.prisma.chat.findUnique({ where: { id: reply.chatId }, select: { ownerId: true } }))?.ownerId;
    if (owner === undefined) return;
    const type = reply.status === 'complete' ? 'GENERATION_FINISHED' : 'GENERATION_FAILED';
    publishChatEvent(this.deps.events, { type, ownerId: owner, chatId: reply.chatId, conversation: reply });
  }

  /**
   * The Human message `id` names among the caller's chats (or the latest one of a chat `id` names),
   * with its latest reply of the kind asked for, and the owner of its chat.
   */
  private async question(caller: Caller, id: string, internet: boolean): Promise<Question> {
    const notFound = () => new AppError('NOT_FOUND', `No conversation or chat ${JSON.stringify(id)}`);
    if (!isUuid(id)) throw notFound();
    const { prisma } = this.deps;
    const latestReply = { where: { internet }, orderBy: NEWEST_CONVERSATION_FIRST, take: 1 };
    const conversation = await prisma.conversation.findUnique({
      where: { ...visibleConversations(caller), id },
      include: { replies: latestReply },
    });
    if (conversation?.role === 'Assistant') {
      throw new AppError('VALIDATION_FAILED', `Conversation ${id} is an Assistant message: ask with the Human message it answers`);
    }
    if (conversation) {
      const { replies, ...question } = conversation;
      // Only an admin may ask in a chat that is not their own: then read whose it is.
      const ownerId = caller.admin
        ? (await prisma.chat.findUniqueOrThrow({ where: { id: question.chatId }, select: { ownerId: true } })).ownerId
        : caller.owner;
      return { ...question, latest: replies[0], ownerId };
    }
    const chat = await prisma.chat.findUnique({
      where: { ...visibleChats(caller), id },
      include: {
        conversations: { where: { role: 'Human' }, orderBy: NEWEST_CONVERSATION_FIRST, take: 1, include: { replies: latestReply } },
      },
    });
    if (!chat) throw notFound();
    const latest = chat.conversations[0];
    if (!latest) throw new AppError('NOT_FOUND', `Chat ${id} has no Human message to answer`);
    const { replies, ...question } = latest;
    return { ...question, latest: replies[0], ownerId: chat.ownerId };
  }

  /** A new generation answering `question`, grounded in a web search when `search` is given. */
  private start(key: string, question: Question, model: ChatModel, search: WebSearch | null): Generation {
    const { prisma, config, events, logger, metrics } = this.deps;
    const reply: Conversation = {
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
      leaseOwner: null,
      leaseExpiresAt: null,
    };
    const prompt = new ReplyPrompt(question, search, { prisma, config, logger });
    const generation = new Generation(reply, prompt, { model, store: this.store, config, logger, metrics });
    this.running.set(key, generation);
    void generation.stored.then((stored) => {
      if (stored) publishChatEvent(events, { type: 'GENERATION_STARTED', ownerId: question.ownerId, chatId: question.chatId, conversation: stored });
    });
    void generation.finished.then(async (saved) => {
      this.running.delete(key);
      if (saved) await this.publishOutcome(saved, question.ownerId);
    });
    return generation;
  }
}

/** A Last-Event-ID this gateway sent: `<reply id>.<position>`. */
function parseResume(lastEventId: string): ReplyPosition {
  const position = parseEventId(lastEventId);
  if (!position) {
    throw new AppError('VALIDATION_FAILED', 'Last-Event-ID must be the id of an event this gateway sent (<reply id>.<position>)');
  }
  return position;
}

/** A stored reply as events after position `after`. */
function replay(reply: Conversation, after: number): Listener {
  const listener = new Listener(reply.id, 3);
  const grounding = groundingOf(reply);
  if (grounding) listener.push({ type: 'sources', position: after, ...grounding });
  if (reply.message.length > after) listener.push({ type: 'token', position: reply.message.length, text: reply.message.slice(after) });
  listener.push(finalEvent(reply));
  return listener;
}
