/** The TypeORM data source: MySQL/MariaDB for `mysql://`/`mariadb://` URLs, SQLite (better-sqlite3) otherwise. */
import 'reflect-metadata';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { DataSource, type DataSourceOptions } from 'typeorm';
import { BillingEvent } from './BillingEvent';
import { JobExportLog } from './JobExportLog';
import { JobItemLog } from './JobItemLog';
import { JobLog } from './JobLog';
import { JobVariantLog } from './JobVariantLog';
import { Rule } from './Rule';
import { User } from './User';
import { Initial1764158400000 } from './migrations/1764158400000-Initial';
import { JobReservedAt1795977893378 } from './migrations/1795977893378-JobReservedAt';
import { VariantsExports1764417600000 } from './migrations/1764417600000-VariantsExports';
import { BinaryCollation1795980000000 } from './migrations/1795980000000-BinaryCollation';

/** Every entity class. */
export const ENTITIES = [User, Rule, JobLog, JobItemLog, BillingEvent, JobVariantLog, JobExportLog];
/** Every migration, oldest first. */
export const MIGRATIONS = [Initial1764158400000, VariantsExports1764417600000, JobReservedAt1795977893378, BinaryCollation1795980000000];

/** Builds (does not connect) a data source for a `DATABASE_URL`. */
export function createDataSource(url: string): DataSource {
  const common = { entities: ENTITIES, migrations: MIGRATIONS, synchronize: false, logging: false } as const;
  let options: DataSourceOptions;
  if (/^(mysql|mariadb):/.test(url)) {
    // TypeORM's mysql driver speaks to both; 'mariadb' only changes a few dialect details.
    const type = url.startsWith('mariadb:') ? 'mariadb' : 'mysql';
    options = { ...common, type, url: url.replace(/^mariadb:/, 'mysql:'), timezone: 'Z', poolSize: 20, charset: 'utf8mb4' };
  } else {
    const file = url.replace(/^sqlite:(\/\/)?/, '');
    if (file !== ':memory:') mkdirSync(dirname(file), { recursive: true });
    // WAL lets the API read while a worker writes; busy_timeout waits out a writer in another process.
    options = {
      ...common,
      type: 'better-sqlite3',
      database: file,
      enableWAL: true,
      prepareDatabase: (db) => db.pragma('busy_timeout = 5000'),
    };
  }
  return new DataSource(options);
}

/** Connects and applies pending migrations. */
export async function openDatabase(url: string): Promise<DataSource> {
  const ds = createDataSource(url);
  await ds.initialize();
  await ds.runMigrations({ transaction: 'each' });
  return ds;
}
