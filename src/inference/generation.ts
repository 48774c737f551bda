import type { InferenceConfig } from '../config.ts';
import type { Conversation, Prisma, PrismaClient } from '../generated/prisma/client.ts';
import type { Logger } from '../logger.ts';
import { finalEvent, groundingColumns, type InferenceEvent } from './events.ts';
import type { Grounding } from './grounding.ts';
import { Listener } from './listener.ts';
import type { ChatMessage, ChatModel, Usage } from './model.ts';
import { UpstreamError } from './model.ts';

/** Why a generation was stopped from our side (the AbortSignal's reason). */
export class GenerationStopped extends Error {
  override name = 'GenerationStopped';
  constructor(
    readonly code: 'ABANDONED' | 'SHUTDOWN' | 'STORE_FAILED',
    message: string,
  ) {
    super(message);
  }
}

const MAX_QUEUED_EVENTS = 10_000;

/** What the model is asked, and for an internet answer, the web search it is grounded in. */
export interface Prepared {
  prompt: ChatMessage[];
  grounding?: Grounding;
}

/**
 * One reply being generated: it streams the model's tokens to every listener, saves the text as it
 * grows, and ends stored as complete, incomplete (stopped by us) or failed (stopped by the model
 * server), telling every listener with a final `done` or `error` event.
 */
export class Generation {
  private text = '';
  private finishReason: string | null = null;
  private usage: Usage | null = null;
  private grounding: Grounding | undefined;
  private terminal: InferenceEvent | undefined;
  private readonly listeners = new Set<Listener>();
  private readonly abort = new AbortController();
  private graceTimer: NodeJS.Timeout | undefined;
  private saving: Promise<unknown> = Promise.resolve();
  private stored = false;
  /** The stream is over and the outcome being saved: no new grace period, no new joiners. */
  settling = false;
  readonly finished: Promise<Conversation>;

  /**
   * Starts at once (so that the caller can register it before anything else awaits). `store` inserts
   * the reply row while `prepare` builds the prompt (searching the web first for an internet answer)
   * and the model starts: the first token does not wait for the insert; every later save does.
   */
  constructor(
    private reply: Conversation,
    private readonly deps: { prisma: PrismaClient; model: ChatModel; config: InferenceConfig; logger: Logger },
    prepare: (signal: AbortSignal) => Promise<Prepared>,
    store: () => Promise<Conversation>,
  ) {
    this.saving = store().then(
      (stored) => {
        this.reply = stored;
        this.stored = true;
      },
      (error: unknown) => {
        deps.logger.error({ err: error }, 'storing the reply failed');
        this.stop(new GenerationStopped('STORE_FAILED', 'The reply could not be stored'));
      },
    );
    this.finished = this.run(prepare);
  }

  /** A new listener, first given everything after position `after`, then the live stream. */
  listen(after = 0): Listener {
    const listener = new Listener(MAX_QUEUED_EVENTS, (gone) => this.forget(gone));
    // A position beyond the text cannot come from this reply (an older one's id): start over.
    const from = after > this.text.length ? 0 : after;
    if (this.grounding) listener.push({ type: 'sources', id: from, ...this.grounding });
    if (this.text.length > from) listener.push({ type: 'token', id: this.text.length, text: this.text.slice(from) });
    if (this.terminal) {
      listener.push(this.terminal);
    } else {
      this.listeners.add(listener);
      clearTimeout(this.graceTimer);
    }
    return listener;
  }

  stop(reason: GenerationStopped): void {
    this.abort.abort(reason);
  }

  private forget(listener: Listener) {
    this.listeners.delete(listener);
    if (this.listeners.size > 0 || this.terminal || this.settling) return;
    // Nobody is listening: keep generating for a while so that a reconnect can resume, then stop paying.
    this.graceTimer = setTimeout(
      () => this.stop(new GenerationStopped('ABANDONED', 'Every listener left before the reply was finished')),
      this.deps.config.graceMs,
    );
  }

  private broadcast(event: InferenceEvent) {
    for (const listener of this.listeners) listener.push(event);
  }

  private async run(prepare: (signal: AbortSignal) => Promise<Prepared>): Promise<Conversation> {
    const { model, logger } = this.deps;
    let outcome: Pick<Conversation, 'status' | 'errorCode' | 'errorDetail'>;
    // What the model server said, for the log only (the listener gets the code's fixed sentence).
    let upstreamReason: string | undefined;
    try {
      const { prompt, grounding } = await prepare(this.abort.signal);
      this.abort.signal.throwIfAborted();
      if (grounding) {
        this.grounding = grounding;
        this.broadcast({ type: 'sources', id: 0, ...grounding });
        void this.save(groundingColumns(grounding));
      }
      for await (const delta of model.stream(prompt, this.abort.signal)) {
        if (delta.kind === 'text') {
          // PostgreSQL text cannot hold U+0000 (a model can emit it): one that reached a save would fail
          // every save of this reply. Replaced by U+FFFD, one UTF-16 unit for one, so positions hold.
          const text = delta.text.replaceAll('\u0000', '\uFFFD');
          this.text += text;
          this.broadcast({ type: 'token', id: this.text.length, text });
        } else if (delta.kind === 'finish') {
          this.finishReason = delta.reason;
        } else {
          this.usage = delta.usage;
        }
      }
      if (!this.finishReason) {
        throw new UpstreamError('UPSTREAM_ERROR', 'the stream ended without a finish reason');
      }
      outcome = { status: 'complete', errorCode: null, errorDetail: null };
    } catch (error) {
      const reason = this.abort.signal.reason;
      if (reason instanceof GenerationStopped) {
        outcome = { status: reason.code === 'STORE_FAILED' ? 'failed' : 'incomplete', errorCode: reason.code, errorDetail: reason.message };
      } else if (error instanceof UpstreamError) {
        outcome = { status: 'failed', errorCode: error.code, errorDetail: error.message };
        upstreamReason = error.reason;
      } else {
        logger.error({ err: error, replyId: this.reply.id }, 'generation failed');
        outcome = { status: 'failed', errorCode: 'INTERNAL_SERVER_ERROR', errorDetail: 'The generation failed' };
      }
      if (outcome.status === 'failed') logger.warn({ replyId: this.reply.id, ...outcome, upstreamReason }, 'generation failed');
    } finally {
      this.settling = true;
      clearTimeout(this.graceTimer);
    }
    await this.save({
      ...this.storedGrounding(),
      ...outcome,
      finishReason: this.finishReason,
      promptTokens: this.usage?.promptTokens ?? null,
      completionTokens: this.usage?.completionTokens ?? null,
      totalTokens: this.usage?.totalTokens ?? null,
    });
    // If the last save failed (database down) the listeners still get the outcome they streamed.
    this.end(finalEvent({ ...this.reply, ...this.storedGrounding(), ...outcome, message: this.text }));
    return this.reply;
  }

  private end(terminal: InferenceEvent) {
    this.terminal = terminal;
    this.broadcast(terminal);
    this.listeners.clear();
  }

  private storedGrounding() {
    return this.grounding ? groundingColumns(this.grounding) : {};
  }

  /**
   * The reply's id and text so far, for the service's periodic save of every running generation;
   * undefined before the row is stored and once the outcome is being saved (the final save has the
   * last word).
   */
  progress(): { id: string; message: string } | undefined {
    return this.stored && !this.settling ? { id: this.reply.id, message: this.text } : undefined;
  }

  /** Writes the text so far and `changes`; these saves run one after another. */
  private save(changes: Prisma.ConversationUncheckedUpdateInput): Promise<unknown> {
    const data = { ...changes, message: this.text };
    this.saving = this.saving.then(async () => {
      try {
        this.reply = await this.deps.prisma.conversation.update({ where: { id: this.reply.id }, data });
      } catch (error) {
        this.deps.logger.error({ err: error, replyId: this.reply.id }, 'saving the reply failed');
      }
    });
    return this.saving;
  }
}
