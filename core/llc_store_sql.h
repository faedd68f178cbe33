/* llc_store_sql.h - the store's SQLite connection, for the results modules
 * of llc/ that own tables of the store and hold every query on them
 * (results.c, probe_results.c, analysis_results.c, query.c). Nothing else
 * includes this: the plots, the report and cli/ ask those modules, which
 * return plain structs.
 */
#ifndef LLC_STORE_SQL_H
#define LLC_STORE_SQL_H

#include "llc_store.h"

#include <sqlite3.h>

/* The raw connection, owned by the handle. */
sqlite3 *llc_store_db(llc_store *s);

/* Record the connection's last SQLite error as the handle's message
 * (naming `doing`) and return the matching status. */
int llc_store_sql_fail(llc_store *s, const char *doing);

#endif
