import type { InferenceConfig } from '../config.ts';
import type { Conversation } from '../generated/prisma/client.ts';
import type { Logger } from '../logger.ts';
import type { GenerationMeter, GenerationStatus, Metrics } from '../observability/metrics.ts';
import { type ChatModel, UpstreamError, type Usage } from '../upstream/model.ts';
import type { ReplyPublisher } from './coordination.ts';
import { finalEvent, groundingColumns, type InferenceEvent } from './events.ts';
import type { Grounding } from './grounding.ts';
import { Listener } from './listener.ts';
import type { PromptSource } from './prompt.ts';
import type { ReplyOutcome, ReplyStore } from './reply-store.ts';

/** Why a generation was stopped from our side (the AbortSignal's reason). */
export class GenerationStopped extends Error {
  override name = 'GenerationStopped';
  constructor(
    readonly code: 'ABANDONED' | 'SHUTDOWN' | 'STOPPED' | 'STORE_FAILED',
    message: string,
  ) {
    super(message);
  }
}

const MAX_QUEUED_EVENTS = 10_000;

export interface GenerationDependencies {
  model: ChatModel;
  store: ReplyStore;
  config: Pick<InferenceConfig, 'graceMs'>;
  logger: Logger;
  metrics: Metrics;
  /** Where the events go for listeners on other instances; `snapshot` is the whole reply so far. */
  publisher?: (replyId: string, snapshot: () => InferenceEvent[]) => ReplyPublisher;
  /** Whether listeners on other instances still follow the reply (they keep it from being abandoned). */
  followedElsewhere?: (replyId: string) => boolean;
}

/**
 * One reply being generated: it streams the model's tokens to every listener while the store saves
 * the text as it grows, and ends stored as complete, incomplete (stopped by us) or failed (stopped by
 * the model server). Listeners get the final `done` or `error` event once the final save has landed,
 * so a `done` always describes a reply stored complete with exactly the text streamed.
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
  private readonly meter: GenerationMeter;
  private readonly publisher: ReplyPublisher | undefined;
  /** The reply row once inserted; null when the insert failed (the generation then stops). */
  readonly stored: Promise<Conversation | null>;
  /** The stream is over and the outcome being saved: no new grace period, no new joiners. */
  settling = false;
  /** The reply as finally stored, or null when it could not be saved before shutdown. */
  readonly finished: Promise<Conversation | null>;

  /**
   * Starts at once (so that the caller can register it before anything else awaits). The reply row is
   * inserted while the prompt is prepared (a web search first, for an internet answer) and the model
   * starts: the first token does not wait for the insert.
   */
  constructor(
    private reply: Conversation,
    prompt: PromptSource,
    private readonly deps: GenerationDependencies,
  ) {
    this.meter = deps.metrics.generationStarted(reply.internet);
    this.publisher = deps.publisher?.(reply.id, () => this.eventsAfter(0));
    this.stored = deps.store
      .insert(reply, () => ({ id: reply.id, message: this.text }))
      .then(
        (stored) => {
          this.reply = stored;
          return stored;
        },
        (error: unknown) => {
          deps.logger.error({ err: error, replyId: reply.id }, 'storing the reply failed');
          this.stop(new GenerationStopped('STORE_FAILED', 'The reply could not be stored'));
          return null;
        },
      );
    this.finished = this.run(prompt);
  }

  get replyId(): string {
    return this.reply.id;
  }

  /** A new listener, first given everything after position `after`, then the live stream. */
  listen(after = 0): Listener {
    const listener = new Listener(this.reply.id, MAX_QUEUED_EVENTS, (gone) => this.forget(gone));
    // A position beyond the text cannot come from this reply: start over.
    for (const event of this.eventsAfter(after > this.text.length ? 0 : after)) listener.push(event);
    if (!this.terminal) {
      this.listeners.add(listener);
      clearTimeout(this.graceTimer);
    }
    return listener;
  }

  /** The reply so far as events after position `from`: its sources, the text as one token, the end if any. */
  private eventsAfter(from: number): InferenceEvent[] {
    const events: InferenceEvent[] = [];
    if (this.grounding) events.push({ type: 'sources', position: from, ...this.grounding });
    if (this.text.length > from) events.push({ type: 'token', position: this.text.length, text: this.text.slice(from) });
    if (this.terminal) events.push(this.terminal);
    return events;
  }

  stop(reason: GenerationStopped): void {
    this.abort.abort(reason);
  }

  private forget(listener: Listener) {
    this.listeners.delete(listener);
    if (this.listeners.size > 0 || this.terminal || this.settling) return;
    // Nobody is listening here: keep generating for a while so that a reconnect can resume, then stop
    // paying, unless listeners on other instances follow it.
    const expire = () => {
      if (this.deps.followedElsewhere?.(this.reply.id)) this.graceTimer = setTimeout(expire, this.deps.config.graceMs);
      else this.stop(new GenerationStopped('ABANDONED', 'Every listener left before the reply was finished'));
    };
    this.graceTimer = setTimeout(expire, this.deps.config.graceMs);
  }

  private broadcast(event: InferenceEvent) {
    for (const listener of this.listeners) listener.push(event);
    this.publisher?.push(event);
  }

  private async run(prompt: PromptSource): Promise<Conversation | null> {
    const outcome = await this.generate(prompt);
    this.meter.ended(outcome.status);
    this.settling = true;
    clearTimeout(this.graceTimer);
    const columns: ReplyOutcome = {
      ...(this.grounding ? groundingColumns(this.grounding) : {}),
      ...outcome,
      finishReason: this.finishReason,
      promptTokens: this.usage?.promptTokens ?? null,
      completionTokens: this.usage?.completionTokens ?? null,
      totalTokens: this.usage?.totalTokens ?? null,
    };
    const saved = (await this.stored) ? await this.deps.store.finish(this.reply.id, this.text, columns) : null;
    if (saved && saved !== 'deleted') {
      this.end(finalEvent(saved));
      return saved;
    }
    // Not stored: the listeners are told why, never `done` for a reply the database does not hold.
    const why =
      saved === 'deleted'
        ? { errorCode: 'NOT_FOUND', errorDetail: 'The chat was deleted while the reply was being generated' }
        : outcome.errorCode === 'STORE_FAILED'
          ? outcome
          : { errorCode: 'SHUTDOWN', errorDetail: 'The server shut down before the reply could be saved' };
    this.end(finalEvent({ ...this.reply, status: 'incomplete', ...why, message: this.text }));
    return null;
  }

  /** Streams the model's answer to every listener; resolves to how it ended. */
  private async generate(prompt: PromptSource): Promise<Pick<Conversation, 'errorCode' | 'errorDetail'> & { status: GenerationStatus }> {
    const { model, logger } = this.deps;
    try {
      const prepared = await prompt.prepare(this.abort.signal);
      this.abort.signal.throwIfAborted();
      if (prepared.grounding) {
        const grounding = prepared.grounding;
        this.grounding = grounding;
        this.broadcast({ type: 'sources', position: 0, ...grounding });
        // Saved as soon as the row exists, so that a resume elsewhere gets the sources too (the final save repeats them).
        void this.stored.then(async (stored) => {
          if (stored) await this.deps.store.update(stored.id, groundingColumns(grounding)).catch(() => {});
        });
      }
      for await (const delta of model.stream(prepared.messages, this.abort.signal)) {
        if (delta.kind === 'text') {
          // PostgreSQL text cannot hold U+0000 (a model can emit it): one that reached a save would fail
          // every save of this reply. Replaced by U+FFFD, one UTF-16 unit for one, so positions hold.
          const text = delta.text.replaceAll('\u0000', '\uFFFD');
          this.text += text;
          this.meter.token();
          this.broadcast({ type: 'token', position: this.text.length, text });
        } else if (delta.kind === 'finish') {
          this.finishReason = delta.reason;
        } else {
          this.usage = delta.usage;
        }
      }
      if (!this.finishReason) {
        throw new UpstreamError('UPSTREAM_ERROR', 'the stream ended without a finish reason');
      }
      return { status: 'complete', errorCode: null, errorDetail: null };
    } catch (error) {
      const reason = this.abort.signal.reason;
      if (reason instanceof GenerationStopped) {
        return { status: reason.code === 'STORE_FAILED' ? 'failed' : 'incomplete', errorCode: reason.code, errorDetail: reason.message };
      }
      if (error instanceof UpstreamError) {
        this.deps.metrics.upstreamError(error.code);
        // What the model server said goes to the log only (the listener gets the code's fixed sentence).
        logger.warn({ replyId: this.reply.id, code: error.code, upstreamReason: error.reason }, 'generation failed');
        return { status: 'failed', errorCode: error.code, errorDetail: error.message };
      }
      logger.error({ err: error, replyId: this.reply.id }, 'generation failed');
      return { status: 'failed', errorCode: 'INTERNAL_SERVER_ERROR', errorDetail: 'The generation failed' };
    }
  }

  private end(terminal: InferenceEvent) {
    this.terminal = terminal;
    this.broadcast(terminal);
    this.listeners.clear();
  }
}
