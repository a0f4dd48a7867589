/**
 * Forward-only schema migrations for a Durable Object's SQLite storage. Run
 * them from the constructor inside blockConcurrencyWhile, so no request sees
 * a half-migrated schema. Each migration applies atomically.
 *
 * Warning: never edit or renumber a migration that has shipped; add a new one.
 */
export interface Migration {
	version: number;
	statements: string[];
}

export function migrate(storage: DurableObjectStorage, migrations: readonly Migration[]): void {
	const sql = storage.sql;
	sql.exec(
		"CREATE TABLE IF NOT EXISTS _migrations (version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL)",
	);
	const applied = new Set(
		sql
			.exec<{ version: number }>("SELECT version FROM _migrations")
			.toArray()
			.map((r) => r.version),
	);
	for (const migration of [...migrations].sort((a, b) => a.version - b.version)) {
		if (applied.has(migration.version)) continue;
		storage.transactionSync(() => {
			for (const statement of migration.statements) sql.exec(statement);
			sql.exec(
				"INSERT INTO _migrations (version, applied_at) VALUES (?, ?)",
				migration.version,
				Date.now(),
			);
		});
	}
}
