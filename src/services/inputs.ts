import { z } from 'zod';
import { validationFailed } from '../errors.ts';
import { RESERVED_OWNERS } from './caller.ts';

/**
 * Input rules shared by GraphQL, REST and the OpenAPI description. Limits (documented in the
 * README): a chat name is 1–200 characters after trimming; a message 1–32,000 characters and not
 * only white space (it is stored as sent: leading spaces and newlines can matter in code). Both are
 * storable text (see `storable`); a time is within years 0001–9999 UTC.
 */
export const NAME_MAX_LENGTH = 200;
export const MESSAGE_MAX_LENGTH = 32_000;

const typed = (field: string, type: string) => ({
  error: (issue: { input: unknown }) => (issue.input === undefined ? `${field} is required` : `${field} must be ${type}`),
});

// Any 8-4-4-4-12 hex id PostgreSQL's uuid type accepts, not only RFC 9562 versions.
export const Uuid = z.guid();

/** A lone UTF-16 surrogate: with the `u` flag, a paired one is part of a code point and does not match. */
const LONE_SURROGATE = /\p{Surrogate}/u;

/**
 * Text PostgreSQL can store as sent: its text type refuses U+0000, and a lone surrogate (valid in
 * a JSON or GraphQL string, not in Unicode) would silently become U+FFFD on the way to UTF-8.
 */
const storable = (field: string) => (text: z.ZodString) =>
  text
    .refine((value) => !value.includes('\u0000'), `${field} must not contain the NUL character (U+0000)`)
    .refine((value) => !LONE_SURROGATE.test(value), `${field} must be valid Unicode (it holds an unpaired surrogate)`);

export const ChatName = z
  .string(typed('name', 'a string'))
  .trim()
  .min(1, 'name must not be empty')
  .max(NAME_MAX_LENGTH, `name must be at most ${NAME_MAX_LENGTH} characters`)
  .apply(storable('name'));

export const RoleInput = z.enum(['Human', 'Assistant'], typed('role', '"Human" or "Assistant"'));

export const Message = z
  .string(typed('message', 'a string'))
  .max(MESSAGE_MAX_LENGTH, `message must be at most ${MESSAGE_MAX_LENGTH} characters`)
  .refine((message) => message.trim().length > 0, 'message must not be empty')
  .apply(storable('message'));

/** Python's `str(datetime)` separates the date and the time with one space where ISO-8601 has a "T". */
const SPACE_SEPARATED = /^(\d{4}-\d\d-\d\d) (?=\d\d:)/;

/**
 * ISO-8601 date-time as JSON carries it, or with one space for the "T" ("2023-08-05 14:48:00", as Python
 * prints datetimes); anything else is refused. Legacy clients send naive times ("2023-08-05T14:48:00"):
 * they are read as UTC, as in the seed API's examples, never as the server's local time.
 */
export const TimestampString = z
  .preprocess(
    (value) => (typeof value === 'string' ? value.replace(SPACE_SEPARATED, '$1T') : value),
    z.iso.datetime({ offset: true, local: true, error: 'updated_at must be an ISO-8601 date-time' }),
  )
  .transform((value) => new Date(/(Z|[+-]\d\d:?\d\d)$/i.test(value) ? value : `${value}Z`));

/**
 * Years 0001–9999 in UTC, what four-digit ISO-8601 can write: PostgreSQL refuses year 0, and
 * 0001-01-01T00:00:00+01:00 is in year 0 once in UTC, so the instant is checked, after its offset.
 */
const EARLIEST = Date.parse('0001-01-01T00:00:00.000Z');
const LATEST = Date.parse('9999-12-31T23:59:59.999Z');

/** A time from GraphQL's DateTime scalar (already a Date) or from JSON. */
export const Timestamp = z
  .union([z.date(), TimestampString])
  .refine(
    (date) => date.getTime() >= EARLIEST && date.getTime() <= LATEST,
    'updated_at must be between 0001-01-01T00:00:00Z and 9999-12-31T23:59:59.999Z',
  );

/** Whom an API key is for; "anonymous" is the shared owner of credential-less callers, never a key's. */
export const OwnerName = z
  .string(typed('owner', 'a string'))
  .min(1, 'owner must not be empty')
  .max(200, 'owner must be at most 200 characters')
  .regex(/^[^\p{Cc}]+$/u, 'owner must not contain control characters')
  .refine(
    (owner) => !RESERVED_OWNERS.includes(owner),
    `owner names ${RESERVED_OWNERS.map((owner) => JSON.stringify(owner)).join(' and ')} are reserved (credential-less callers, the bootstrap admin key)`,
  );

export const CreateChatInput = z.object({ name: ChatName });
export const UpdateChatInput = z.object({ name: ChatName, updatedAt: Timestamp.nullish() });
export const ChatId = z.guid(typed('chat_id', 'a UUID'));

export const CreateConversationInput = z.object({
  chatId: ChatId,
  role: RoleInput,
  message: Message,
});

export function parseInput<Schema extends z.ZodType>(schema: Schema, input: unknown): z.output<Schema> {
  const parsed = schema.safeParse(input);
  if (!parsed.success) throw validationFailed(parsed.error);
  return parsed.data;
}

export function isUuid(value: string): boolean {
  return Uuid.safeParse(value).success;
}
