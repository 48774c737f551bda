import { randomUUID } from 'node:crypto';
import { type Conversation, Prisma, type PrismaClient } from '../generated/prisma/client.ts';
import type { Logger } from '../logger.ts';
import { conversationColumns, NEWEST_CONVERSATION_FIRST } from '../services/conversations.ts';
import type { groundingColumns } from './events.ts';

/** Rows per UPDATE of the periodic save: far below PostgreSQL's 65,535 bind parameters (2 per row). */
const SAVE_BATCH_ROWS = 1_000;
/** Backoff of the final save while the database refuses it: from 100 ms, doubling, to 2 s. */
const FINAL_SAVE_BACKOFF_MS = { first: 100, max: 2_000 };

/** A reply being written: its id and text so far, for the periodic save. */
export interface ReplyProgress {
  id: string;
  message: string;
}

/** How a reply ended, as its final save writes it; the grounding columns only for an internet answer. */
export type ReplyOutcome = Pick<
  Conversation,
  'status' | 'errorCode' | 'errorDetail' | 'finishReason' | 'promptTokens' | 'completionTokens' | 'totalTokens'
> &
  Partial<ReturnType<typeof groundingColumns>>;

export interface ReplyStoreOptions {
  /** How often the text of every running reply is saved (and their leases renewed). */
  saveIntervalMs: number;
  /** How long a lease lasts without renewal: a streaming reply whose lease lapsed is an orphan. */
  leaseMs: number;
}

/**
 * Owns every write of a generated reply: the insert, the periodic progress of all running replies in
 * batches, the final save (retried until it lands), and the recovery of replies a dead process left
 * `streaming`. Times that decide liveness are the database's (`now()`), never this process's clock.
 */
export class ReplyStore {
  private readonly running = new Map<string, () => ReplyProgress>();
  private saving: Promise<void> | undefined;
  private closed = false;

  constructor(
    private readonly prisma: PrismaClient,
    private readonly options: ReplyStoreOptions,
    private readonly logger: Logger,
    /** This process, as the owner of the leases it takes. */
    readonly instanceId: string = randomUUID(),
  ) {}

  /**
   * Stores a new reply, `streaming`, under this process's lease, and saves its progress from then on
   * (`progress` is read at every save interval until `finish`).
   */
  async insert(reply: Conversation, progress: () => ReplyProgress): Promise<Conversation> {
    const [stored] = await this.prisma.$queryRaw<{ seq: bigint; created_at: Date; updated_at: Date }[]>`
      INSERT INTO conversations (id, role, chat_id, message, reply_to_id, status, internet, lease_owner, lease_expires_at)
      VALUES (${reply.id}::uuid, 'Assistant', ${reply.chatId}::uuid, '', ${reply.replyToId}::uuid, 'streaming',
              ${reply.internet}, ${this.instanceId}, now() + ${this.leaseInterval()}::interval)
      RETURNING seq, created_at, updated_at`;
    this.running.set(reply.id, progress);
    return { ...reply, seq: stored!.seq, createdAt: stored!.created_at, updatedAt: stored!.updated_at, leaseOwner: this.instanceId };
  }

  /** Writes some columns of a running reply now (its grounding, once the search is done). */
  async update(id: string, changes: Prisma.ConversationUncheckedUpdateInput): Promise<void> {
    await this.prisma.conversation.update({ where: { id }, data: changes, select: { id: true } });
  }

  /**
   * The final save: retried with backoff while the database refuses it, until it lands or the store is
   * closed (shutdown); null then, and the reply stays `streaming` with its last progress until recovery
   * settles it; `deleted` when the reply is gone (its chat was deleted meanwhile: nothing to retry). The
   * text is written whole, so no earlier save can leave it shorter.
   */
  async finish(id: string, message: string, outcome: ReplyOutcome): Promise<Conversation | 'deleted' | null> {
    let wait = FINAL_SAVE_BACKOFF_MS.first;
    for (let attempt = 1; ; attempt += 1) {
      try {
        const [saved] = await this.prisma.$queryRaw<Conversation[]>`
          UPDATE conversations AS m
          SET message = ${message}, status = ${outcome.status}::"ReplyStatus", error_code = ${outcome.errorCode},
              error_detail = ${outcome.errorDetail}, finish_reason = ${outcome.finishReason},
              prompt_tokens = ${outcome.promptTokens}, completion_tokens = ${outcome.completionTokens},
              total_tokens = ${outcome.totalTokens}, lease_owner = NULL, lease_expires_at = NULL, updated_at = now()
              ${groundingAssignments(outcome)}
          WHERE m.id = ${id}::uuid
          RETURNING ${conversationColumns('m')}`;
        this.running.delete(id);
        // No row: the reply is gone (its chat was deleted meanwhile), nothing to retry.
        return saved ?? 'deleted';
      } catch (error) {
        this.logger.error({ err: error, replyId: id, attempt }, 'saving the finished reply failed; retrying');
        if (this.closed) {
          this.running.delete(id);
          return null;
        }
        await new Promise((resolve) => setTimeout(resolve, wait));
        wait = Math.min(wait * 2, FINAL_SAVE_BACKOFF_MS.max);
      }
    }
  }

  /** Forgets a reply whose insert failed (nothing to save). */
  abandon(id: string): void {
    this.running.delete(id);
  }

  /**
   * Writes the text so far of every running reply, a batch of rows per statement, and renews their
   * leases. Only rows still streaming, under this process's lease, and no longer than the text written
   * are touched: a late batch never overwrites a final save or a longer text. One round at a time: a
   * slow database skips ticks rather than piling them up.
   */
  saveProgress(): Promise<void> {
    if (this.saving || this.running.size === 0) return this.saving ?? Promise.resolve();
    const rows = [...this.running.values()].map((progress) => progress());
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

  private async saveRows(rows: ReplyProgress[]): Promise<boolean> {
    try {
      const values = Prisma.join(rows.map((row) => Prisma.sql`(${row.id}::uuid, ${row.message})`));
      await this.prisma.$executeRaw`
        UPDATE conversations AS c
        SET message = v.message, updated_at = now(), lease_expires_at = now() + ${this.leaseInterval()}::interval
        FROM (VALUES ${values}) AS v (id, message)
        WHERE c.id = v.id AND c.status = 'streaming' AND c.lease_owner = ${this.instanceId}
          AND char_length(c.message) <= char_length(v.message)`;
      return true;
    } catch (error) {
      this.logger.error({ err: error, replies: rows.map((row) => row.id) }, 'saving running replies failed');
      return false;
    }
  }

  /**
   * Settles replies left `streaming` by a process that died: every one whose lease has lapsed, or with
   * `everyStreaming` (an embedded database only this process can open), every one not running here.
   * They become `incomplete` with code INTERRUPTED, keeping the text last saved. Returns them.
   */
  async settleOrphans(options: { everyStreaming?: boolean } = {}): Promise<Conversation[]> {
    const running = [...this.running.keys()];
    const notHere = running.length
      ? Prisma.sql`AND id NOT IN (${Prisma.join(running.map((id) => Prisma.sql`${id}::uuid`))})`
      : Prisma.empty;
    const settled = await this.settle(options.everyStreaming ? Prisma.sql`TRUE ${notHere}` : Prisma.sql`${LEASE_LAPSED} ${notHere}`);
    if (settled.length > 0)
      this.logger.warn({ replies: settled.map((reply) => reply.id) }, 'settled replies left streaming by a stopped process');
    return settled;
  }

  /** The reply as stored now, settled first if it is an orphan; null if it is gone. */
  async current(id: string): Promise<Conversation | null> {
    const [settled] = this.running.has(id) ? [] : await this.settle(Prisma.sql`id = ${id}::uuid AND ${LEASE_LAPSED}`);
    return settled ?? (await this.prisma.conversation.findUnique({ where: { id } }));
  }

  /** Marks the streaming replies `where` selects as interrupted; returns them as stored. */
  private async settle(where: Prisma.Sql): Promise<Conversation[]> {
    const settled = await this.prisma.$queryRaw<{ id: string }[]>`
      UPDATE conversations
      SET status = 'incomplete', error_code = 'INTERRUPTED', error_detail = ${INTERRUPTED_DETAIL},
          lease_owner = NULL, lease_expires_at = NULL, updated_at = now()
      WHERE status = 'streaming' AND ${where}
      RETURNING id`;
    if (settled.length === 0) return [];
    return this.prisma.conversation.findMany({ where: { id: { in: settled.map((row) => row.id) } } });
  }

  /** The latest reply of a kind (plain or internet) to a Human message. */
  latest(questionId: string, internet: boolean): Promise<Conversation | null> {
    return this.prisma.conversation.findFirst({ where: { replyToId: questionId, internet }, orderBy: NEWEST_CONVERSATION_FIRST });
  }

  /** Stops retrying final saves (the database is about to close), after a round of saves under way. */
  async close(): Promise<void> {
    this.closed = true;
    await this.saving;
  }

  private leaseInterval(): string {
    return `${this.options.leaseMs} milliseconds`;
  }
}

/** The grounding columns of an internet answer's final save (they hold the search it was grounded in). */
function groundingAssignments(outcome: ReplyOutcome): Prisma.Sql {
  if (outcome.searchQuery === undefined) return Prisma.empty;
  return Prisma.sql`, search_query = ${outcome.searchQuery}, sources = ${JSON.stringify(outcome.sources ?? [])}::jsonb,
    search_error_code = ${outcome.searchErrorCode ?? null}, search_error_detail = ${outcome.searchErrorDetail ?? null}`;
}

/** A lease nobody renewed in time (or none at all: rows from before leases existed). */
const LEASE_LAPSED = Prisma.sql`(lease_expires_at IS NULL OR lease_expires_at < now())`;

export const INTERRUPTED_DETAIL = 'The server generating the reply stopped before it was finished';
