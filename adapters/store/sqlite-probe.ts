/**
 * Whether the SQLite file the bot keeps its state in can be written right now. Two parts, because SQLite keeps
 * the descriptors it opened at start-up (and hands them to later connections of the same process), so a write
 * alone does not notice a store that became read-only underneath it:
 *   - the file and its directory (where SQLite creates its -wal/-shm/-journal files) are writable for this user
 *     on a writable file system (catches a changed mode or owner, a file system remounted read-only);
 *   - a real write of one row commits (catches a full disk, a lock held too long, I/O errors).
 * About a millisecond.
 */
import { accessSync, constants } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';

export function sqliteWriteProbe(file: string): () => void {
  if (file === ':memory:') return () => {};
  return () => {
    for (const path of [dirname(file), file]) {
      try {
        accessSync(path, constants.W_OK);
      } catch (err) {
        throw new Error(`${path} is not writable (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
      }
    }
    const db = new Database(file, { fileMustExist: true, timeout: 2000 });
    try {
      db.exec('CREATE TABLE IF NOT EXISTS health_probe (id INTEGER PRIMARY KEY, at TEXT NOT NULL)');
      db.prepare('INSERT OR REPLACE INTO health_probe (id, at) VALUES (1, ?)').run(new Date().toISOString());
    } finally {
      db.close();
    }
  };
}
