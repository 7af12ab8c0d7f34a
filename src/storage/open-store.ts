import path from 'node:path';
import type { Config } from '../config/schema';
import { SqliteStore } from './sqlite/sqlite-store';
import type { Store } from './store';

/**
 * Opens the configured store (`storage.driver`). This is the seam a PostgreSQL driver (several nodes) drops into:
 * a new `storage.driver` value and a case here; nothing above the `Store` interface changes. A relative
 * `storage.file` lives under `dataDir`.
 */
export function openStore(config: Readonly<Pick<Config, 'storage'>>, dataDir: string): Store {
  const storage = config.storage;
  switch (storage.driver) {
    case 'sqlite': {
      const file =
        storage.file === ':memory:' || path.isAbsolute(storage.file)
          ? storage.file
          : path.join(dataDir, storage.file);
      return SqliteStore.open({ file });
    }
  }
}
