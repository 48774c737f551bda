import { createPubSub, type PubSub } from 'graphql-yoga';
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

export type ChatEventBus = PubSub<{ chatEvents: [ChatEvent] }>;

/** `eventTarget` carries events beyond this process (several instances); in-process when absent. */
export function createChatEventBus(eventTarget?: EventTarget): ChatEventBus {
  return createPubSub<{ chatEvents: [ChatEvent] }>(eventTarget ? { eventTarget } : undefined);
}

export function publishChatEvent(bus: ChatEventBus, event: Omit<ChatEvent, 'at'>): void {
  bus.publish('chatEvents', { ...event, at: new Date() });
}
