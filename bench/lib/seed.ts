/**
 * The data the request/response reads see: 20 chats of 12 messages each, written the same way to
 * every store (through the gateway's REST API, or with Prisma for the raw handler's own PGlite).
 */
export const SEED_CHATS = 20;
export const SEED_MESSAGES_PER_CHAT = 12;

export interface SeedWriter {
  createChat(name: string): Promise<string>;
  /** Answers the new message's id. */
  createConversation(chatId: string, role: 'Human' | 'Assistant', message: string): Promise<string>;
}

export async function seedChats(writer: SeedWriter): Promise<void> {
  for (let chat = 0; chat < SEED_CHATS; chat += 1) {
    const chatId = await writer.createChat(`Bench chat ${chat}`);
    for (let message = 0; message < SEED_MESSAGES_PER_CHAT; message += 1) {
      const role = message % 2 === 0 ? 'Human' : 'Assistant';
      await writer.createConversation(chatId, role, `Message ${message} of chat ${chat}: ${'a realistic sentence length. '.repeat(3)}`);
    }
  }
}

/** Seeds through the gateway's legacy REST routes (over HTTP, or straight into an app's `fetch`). */
export function restSeedWriter(baseUrl: string, fetchFn: (request: Request) => Promise<Response> = fetch): SeedWriter {
  const post = async (path: string, body: unknown) => {
    const response = await fetchFn(
      new Request(`${baseUrl}${path}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
      }),
    );
    if (!response.ok) throw new Error(`POST ${path}: ${response.status} ${await response.text()}`);
    return (await response.json()) as { id: string };
  };
  return {
    createChat: async (name) => (await post('/chats/create', { name })).id,
    createConversation: async (chatId, role, message) => (await post('/conversations/create', { chat_id: chatId, role, message })).id,
  };
}
