import type { Logger } from '../logger.ts';
import { type RedisConnection, redisCodec } from './connection.ts';

interface Envelope {
  origin: string;
  type: string;
  detail: unknown;
}

/**
 * An EventTarget for graphql-yoga's PubSub whose events also reach every other instance, over one
 * Redis channel. Listeners here get this instance's own events directly, not through Redis (unlike
 * @graphql-yoga/redis-event-target): a Redis outage costs dashboards the other instances' events only,
 * and an event is never delivered twice.
 */
export class CrossInstanceEventTarget extends EventTarget {
  private readonly channel: string;

  constructor(
    private readonly redis: RedisConnection,
    private readonly origin: string,
    private readonly logger: Logger,
  ) {
    super();
    this.channel = redis.channel('events');
    // For the life of the process: ioredis subscribes again after every reconnect.
    redis.subscribe(this.channel, (message) => {
      const envelope = redisCodec.parse<Envelope>(message);
      if (envelope.origin !== this.origin) super.dispatchEvent(new CustomEvent(envelope.type, { detail: envelope.detail }));
    });
  }

  override dispatchEvent(event: Event): boolean {
    const delivered = super.dispatchEvent(event);
    if (this.redis.available) {
      const envelope: Envelope = { origin: this.origin, type: event.type, detail: (event as CustomEvent).detail };
      this.redis.command.publish(this.channel, redisCodec.stringify(envelope)).catch((error: unknown) => {
        this.logger.warn({ err: error, type: event.type }, 'an event did not reach the other instances');
      });
    }
    return delivered;
  }
}
