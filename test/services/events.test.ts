import { describe, expect, it } from 'vitest';
import { createChatEventBus, publishChatEvent } from '../../src/services/events.ts';

describe('chat event bus', () => {
  it('delivers events until closed, then ends every subscription, later ones at once', async () => {
    const bus = createChatEventBus();
    const subscription = bus.subscribe('chatEvents');
    const first = subscription.next();
    publishChatEvent(bus, { type: 'CHAT_CREATED', ownerId: 'anonymous', chatId: 'c1' });
    expect((await first).value).toMatchObject({ type: 'CHAT_CREATED', ownerId: 'anonymous', chatId: 'c1' });

    const pending = subscription.next();
    bus.close();
    expect(await pending).toMatchObject({ done: true });
    expect(await bus.subscribe('chatEvents').next()).toMatchObject({ done: true });
  });
});
