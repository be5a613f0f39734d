/** `npm run migrate`: applies pending migrations to DATABASE_URL (SQLite file by default). */
import 'dotenv/config';
import { parseConfig } from '../domain/config';
import { createDataSource } from './dataSource';

async function main(): Promise<void> {
  const config = parseConfig(process.env);
  const ds = await createDataSource(config.DATABASE_URL).initialize();
  const applied = await ds.runMigrations({ transaction: 'each' });
  console.log(applied.length ? `applied: ${applied.map((m) => m.name).join(', ')}` : 'database is up to date');
  await ds.destroy();
}

main().catch((err) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
