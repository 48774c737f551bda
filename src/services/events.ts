import { createPubSub, Repeater } from 'graphql-yoga';
import type { Chat, Conversation } from '../generated/prisma/client.ts';

export const CHAT_EVENT_TYPES = [
  'CHAT_CREATED',
  'CHAT_UPDATED',
  'CHAT_DELETED',
  'CONVERSATION_CREATED',
  'GENERATION_STARTED',
  'GENERATION_FINISHED',
  'GENERATION_FAILED',
] as const;

export type ChatEventType = (typeof CHAT_EVENT_TYPES)[number];

/** What dashboards see: one event per change, published by the domain code both APIs call. */
export interface ChatEvent {
  type: ChatEventType;
  /** The chat's owner: only they (and admins) are told. */
  ownerId: string;
  chatId: string;
  /** The chat as it is after the change (as it was, for CHAT_DELETED). */
  chat?: Chat;
  /** The message created, or the reply a generation event is about. */
  conversation?: Conversation;
  at: Date;
}

export interface ChatEventBus {
  publish(topic: 'chatEvents', event: ChatEvent): void;
  subscribe(topic: 'chatEvents'): Repeater<ChatEvent>;
  /**
   * Ends every subscription (shutdown): subscribers see their stream complete instead of a cut
   * connection, and none holds the server open. Later subscriptions end at once.
   */
  close(): void;
}

/** `eventTarget` carries events beyond this process (several instances); in-process when absent. */
export function createChatEventBus(eventTarget?: EventTarget): ChatEventBus {
  const pubsub = createPubSub<{ chatEvents: [ChatEvent] }>(eventTarget ? { eventTarget } : undefined);
  let close!: () => void;
  const closed = new Promise<void>((resolve) => (close = resolve));
  return {
    publish: (topic, event) => pubsub.publish(topic, event),
    // Whichever ends first: the subscription (its consumer left) or the bus.
    subscribe: (topic) => Repeater.race([pubsub.subscribe(topic), closed]),
    close,
  };
}

export function publishChatEvent(bus: ChatEventBus, event: Omit<ChatEvent, 'at'>): void {
  bus.publish('chatEvents', { ...event, at: new Date() });
}
