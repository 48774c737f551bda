import { pino, type Logger } from 'pino';
import type { Config } from './config.ts';

export type { Logger };

export function createLogger(config: Pick<Config, 'log'>): Logger {
  return pino({ level: config.log.level, base: { service: 'chat-gateway' } });
}
