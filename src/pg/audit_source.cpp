// Resolving trajc.source and the column settings, building the listing and
// turns queries, and reading a session's rows into plain views for the core.
//
// Must never: build SQL from a setting without resolving it through the
// catalog first, or convert values the core will render (they stay text).
#include "audit_source.hpp"

#include "cpp_call.hpp"
#include "guc.hpp"
#include "spi_util.hpp"
#include "stored_text.hpp"

namespace trajc_pg {

namespace {

// Error context naming the setting being resolved, so that any error raised
// by the catalog lookups (bad syntax, permissions) tells the user what to fix.
struct SettingContext {
  const char* name;
  const char* value;
};

void setting_error_context(void* arg) {
  auto* s = static_cast<SettingContext*>(arg);
  errcontext("resolving setting %s = '%s'", s->name, s->value);
}

Oid resolve_relation(const char* source) {
  SettingContext ctx{"trajc.source", source};
  ErrorContextCallback cb{error_context_stack, setting_error_context, &ctx};
  error_context_stack = &cb;
  List* names = stringToQualifiedNameList(source);
  RangeVar* rv = makeRangeVarFromNameList(names);
  Oid relid = RangeVarGetRelid(rv, AccessShareLock, true);
  error_context_stack = cb.previous;
  if (!OidIsValid(relid))
    ereport(ERROR, (errcode(ERRCODE_UNDEFINED_TABLE),
                    errmsg("audit log \"%s\" does not exist", source),
                    errhint("Set trajc.source to the table or view holding the audit log.")));
  char kind = get_rel_relkind(relid);
  if (kind != RELKIND_RELATION && kind != RELKIND_VIEW && kind != RELKIND_MATVIEW &&
      kind != RELKIND_FOREIGN_TABLE && kind != RELKIND_PARTITIONED_TABLE)
    ereport(ERROR, (errcode(ERRCODE_WRONG_OBJECT_TYPE),
                    errmsg("trajc.source \"%s\" is not a table or view", source)));
  return relid;
}

// Column settings name a column exactly as stored (case-sensitive, unquoted).
int find_column(TupleDesc desc, const char* setting, const char* name) {
  for (int i = 0; i < desc->natts; i++) {
    Form_pg_attribute att = TupleDescAttr(desc, i);
    if (!att->attisdropped && strcmp(NameStr(att->attname), name) == 0) return i;
  }
  ereport(ERROR, (errcode(ERRCODE_UNDEFINED_COLUMN),
                  errmsg("column \"%s\" named by %s does not exist in the audit log", name,
                         setting),
                  errhint("Set %s to an existing column (exact name, case-sensitive).",
                          setting)));
  pg_unreachable();
}

bool is_json_type(Oid type) { return type == JSONOID || type == JSONBOID; }

// The session column groups rows (GROUP BY), so its type needs an equality
// operator; json, xml and the geometric types have none, and the query would
// fail with an error that names neither the setting nor the fix.
void check_session_type(const char* column, Oid type) {
  if (OidIsValid(lookup_type_cache(type, TYPECACHE_EQ_OPR)->eq_opr)) return;
  const char* quoted = quote_identifier(column);
  ereport(ERROR, (errcode(ERRCODE_DATATYPE_MISMATCH),
                  errmsg(trajc::kSessionTypeError, column, "trajc.session_column", format_type_be(type)),
                  errhint(trajc::kSessionTypeHint, "trajc.session_column", "trajc.source", quoted, quoted)));
}

// The time column orders turns as timestamptz.
void check_time_type(const char* column, Oid type) {
  Oid func;
  if (find_coercion_pathway(TIMESTAMPTZOID, type, COERCION_EXPLICIT, &func) != COERCION_PATH_NONE)
    return;
  ereport(ERROR, (errcode(ERRCODE_DATATYPE_MISMATCH),
                  errmsg(trajc::kTimeTypeError, column, "trajc.time_column", format_type_be(type)),
                  errhint(trajc::kTimeTypeHint, "trajc.time_column")));
}

// Requested content columns (trajc.content_columns), as attribute flags.
bool* requested_columns(TupleDesc desc) {
  bool* wanted = static_cast<bool*>(palloc0(sizeof(bool) * desc->natts));
  if (gucs.content_columns == nullptr || gucs.content_columns[0] == '\0') {
    for (int i = 0; i < desc->natts; i++) wanted[i] = true;
    return wanted;
  }
  char* list = pstrdup(gucs.content_columns);
  for (char* item = strtok(list, ","); item != nullptr; item = strtok(nullptr, ",")) {
    std::string_view name = trajc::ascii::trim(item);
    if (name.empty()) continue;
    wanted[find_column(desc, "trajc.content_columns", pnstrdup(name.data(), name.size()))] = true;
  }
  return wanted;
}

const char* primary_key_order(Relation rel, TupleDesc desc) {
  Oid pk = RelationGetPrimaryKeyIndex(rel);
  StringInfoData buf;
  initStringInfo(&buf);
  if (OidIsValid(pk)) {
    Relation index = index_open(pk, AccessShareLock);
    for (int i = 0; i < index->rd_index->indnkeyatts; i++) {
      AttrNumber attnum = index->rd_index->indkey.values[i];
      appendStringInfo(&buf, ", l.%s",
                       quote_identifier(NameStr(TupleDescAttr(desc, attnum - 1)->attname)));
    }
    index_close(index, AccessShareLock);
  }
  return buf.data;
}

// The content columns: every other live column, or those trajc.content_columns names.
void resolve_content_columns(AuditSource* src, TupleDesc desc, int session, int time) {
  bool* wanted = requested_columns(desc);
  src->content = static_cast<trajc::RawColumn*>(palloc0(sizeof(trajc::RawColumn) * desc->natts));
  src->content_quoted = static_cast<const char**>(palloc0(sizeof(const char*) * desc->natts));
  for (int i = 0; i < desc->natts; i++) {
    Form_pg_attribute att = TupleDescAttr(desc, i);
    if (att->attisdropped || i == session || i == time || !wanted[i]) continue;
    const char* name = pstrdup(NameStr(att->attname));
    src->content[src->ncontent] = trajc::RawColumn{name, is_json_type(att->atttypid)};
    src->content_quoted[src->ncontent++] = quote_identifier(name);
  }
}

// What orders turns with equal times: the primary key, else ctid, else (a
// view or a foreign table) every content column as text.
const char* tiebreak_order(const AuditSource* src, Relation rel, TupleDesc desc) {
  const char* pk = primary_key_order(rel, desc);
  char kind = rel->rd_rel->relkind;
  if (pk[0] != '\0') return pk;
  if (kind == RELKIND_RELATION || kind == RELKIND_MATVIEW) return ", l.ctid";
  StringInfoData stable;
  initStringInfo(&stable);
  for (int i = 0; i < src->ncontent; i++)
    appendStringInfo(&stable, ", l.%s::text", src->content_quoted[i]);
  return stable.data;
}

}  // namespace

AuditSource* resolve_audit_source(void) {
  auto* src = static_cast<AuditSource*>(palloc0(sizeof(AuditSource)));
  src->relid = resolve_relation(gucs.source);
  src->relation = quote_qualified_identifier(get_namespace_name(get_rel_namespace(src->relid)),
                                             get_rel_name(src->relid));

  Relation rel = relation_open(src->relid, AccessShareLock);
  TupleDesc desc = RelationGetDescr(rel);
  int session = find_column(desc, "trajc.session_column", gucs.session_column);
  int time = find_column(desc, "trajc.time_column", gucs.time_column);
  Oid session_type = TupleDescAttr(desc, session)->atttypid;
  check_session_type(gucs.session_column, session_type);
  check_time_type(gucs.time_column, TupleDescAttr(desc, time)->atttypid);
  src->session_col = quote_identifier(gucs.session_column);
  src->session_is_text = session_type == TEXTOID || session_type == VARCHAROID;
  src->time_col = quote_identifier(gucs.time_column);
  src->agent_col = nullptr;
  if (gucs.agent_column != nullptr && gucs.agent_column[0] != '\0') {
    find_column(desc, "trajc.agent_column", gucs.agent_column);
    src->agent_col = quote_identifier(gucs.agent_column);
  }

  resolve_content_columns(src, desc, session, time);
  src->tiebreak = tiebreak_order(src, rel, desc);
  relation_close(rel, NoLock);  // keep the lock to the end of the transaction
  return src;
}

void check_listing_args(int min_turns, int limit) {
  if (min_turns < 1)
    ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE),
                    errmsg("min_turns must be at least 1, got %d", min_turns)));
  if (limit < 0)
    ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE),
                    errmsg("\"limit\" must be 0 (no limit) or positive, got %d", limit)));
}

namespace {

// The core's view of the resolved source: the queries are built there, once
// for the extension and the companion tool (trajc/audit_sql.hpp).
void to_audit_sql(const AuditSource* src, trajc::AuditSql& q) {
  q.relation = src->relation;
  q.session_col = src->session_col;
  q.session_is_text = src->session_is_text;
  q.time_col = src->time_col;
  q.agent_col = src->agent_col ? src->agent_col : "";
  q.tiebreak = src->tiebreak;
  for (int i = 0; i < src->ncontent; i++) q.content_quoted.emplace_back(src->content_quoted[i]);
}

template <typename Build>
char* query_text(const AuditSource* src, Build build) {
  char* out = nullptr;
  std::string* text = nullptr;
  run_cpp([&] {
    trajc::AuditSql q;
    to_audit_sql(src, q);
    text = new std::string(build(q));
  });
  out = pstrdup(text->c_str());
  run_cpp([&] { delete text; });
  return out;
}

}  // namespace

char* sessions_query(const AuditSource* src, bool with_agent) {
  return query_text(src, [&](const trajc::AuditSql& q) { return trajc::sessions_sql(q, with_agent); });
}

char* turns_query(const AuditSource* src, bool with_iso_time) {
  return query_text(src,
                    [&](const trajc::AuditSql& q) { return trajc::turns_sql(q, with_iso_time); });
}

void read_turn_row(const AuditSource* src, const Datum* datums, const bool* nulls,
                   trajc::RawValue* at, trajc::RawValue* agent, trajc::RawValue* values) {
  auto read = [&](int attno) -> trajc::RawValue {
    if (nulls[attno]) return trajc::RawValue{nullptr, -1};
    text* t = pg_detoast_datum_packed(reinterpret_cast<struct varlena*>(DatumGetPointer(datums[attno])));
    int len;
    const char* utf8 = to_core_text(VARDATA_ANY(t), static_cast<int>(VARSIZE_ANY_EXHDR(t)), &len);
    return trajc::RawValue{utf8, len};
  };
  *at = read(1);
  *agent = read(2);
  for (int c = 0; c < src->ncontent; c++) values[c] = read(3 + c);
}

SessionRows session_rows_of(const AuditSource* src, SPITupleTable* tuples, uint64 ntuples) {
  const int nturns = static_cast<int>(ntuples);
  const int ncols = src->ncontent;
  auto* at = static_cast<trajc::RawValue*>(palloc(sizeof(trajc::RawValue) * (nturns + 1)));
  auto* agent = static_cast<trajc::RawValue*>(palloc(sizeof(trajc::RawValue) * (nturns + 1)));
  auto* values = static_cast<trajc::RawValue*>(palloc(sizeof(trajc::RawValue) * (nturns * ncols + 1)));
  TupleDesc desc = tuples->tupdesc;
  Datum* datums = static_cast<Datum*>(palloc(sizeof(Datum) * desc->natts));
  bool* nulls = static_cast<bool*>(palloc(sizeof(bool) * desc->natts));
  for (int r = 0; r < nturns; r++) {
    heap_deform_tuple(tuples->vals[r], desc, datums, nulls);  // one pass, not one per column
    read_turn_row(src, datums, nulls, &at[r], &agent[r], &values[r * ncols]);
  }
  return SessionRows{trajc::RawRows{nturns, ncols, src->content, at, agent, values}, tuples};
}

SessionRows load_session_rows(const AuditSource* src, SPIPlanPtr turns_plan, const char* session_id) {
  Datum arg = CStringGetTextDatum(session_id);
  spi_execute(turns_plan, &arg, nullptr, true, SPI_OK_SELECT, "reading turns");
  return session_rows_of(src, SPI_tuptable, SPI_processed);
}

}  // namespace trajc_pg
