import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../src/config.ts';
import { parseDatabaseUrl } from '../src/db/database.ts';

describe('configuration', () => {
  it('has defaults for a laptop: 127.0.0.1:4000 on PGlite in ./data', () => {
    const config = loadConfig({});
    expect(config.server).toMatchObject({ host: '127.0.0.1', port: 4000 });
    expect(config.database).toMatchObject({ url: './data/pglite', migrateOnStart: true });
  });

  it('lists every invalid variable in one readable error', () => {
    const attempt = () => loadConfig({ PORT: 'eighty', LOG_LEVEL: 'loud', MIGRATE_ON_START: 'maybe' });
    expect(attempt).toThrow(ConfigError);
    expect(attempt).toThrow(/PORT[\s\S]*MIGRATE_ON_START[\s\S]*LOG_LEVEL|PORT[\s\S]*LOG_LEVEL[\s\S]*MIGRATE_ON_START/);
  });

  it('treats empty variables as unset', () => {
    expect(loadConfig({ PORT: '', DATABASE_URL: '' }).server.port).toBe(4000);
  });
});

describe('DATABASE_URL', () => {
  it.each([
    ['./data/pglite', { kind: 'pglite', dataDir: './data/pglite' }],
    ['file:/var/lib/chat', { kind: 'pglite', dataDir: '/var/lib/chat' }],
    ['memory://', { kind: 'pglite', dataDir: undefined }],
    ['postgresql://u@db:5432/chat?schema=gw', { kind: 'postgres', connectionString: 'postgresql://u@db:5432/chat', schema: 'gw' }],
    ['postgres://u@db/chat', { kind: 'postgres', connectionString: 'postgres://u@db/chat', schema: undefined }],
  ])('%s', (url, target) => {
    expect(parseDatabaseUrl(url)).toEqual(target);
  });
});
