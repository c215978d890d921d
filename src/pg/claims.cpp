// Session claims: advisory locks keyed by a 64-bit hash of the session id,
// held while a session is in flight, and a dirty read of compile_log's ok
// compiles for sessions stored by runs that have not committed (claims.hpp).
//
// The key lives in the bigint advisory-lock space (as pg_advisory_lock(bigint)),
// seeded so that it does not coincide with keys users pick by hand; in SQL,
// pg_locks shows it as objsubid = 1 and (classid << 32 | objid) =
// hashtextextended(session_id, 8390876165306283569).
//
// Must never: change the key (running versions must agree on it), block, or
// keep a key once its lock is released.
#include "claims.hpp"

extern "C" {
#include "access/stratnum.h"
#include "access/table.h"
#include "access/tableam.h"
#include "executor/tuptable.h"
#include "utils/fmgroids.h"
}

namespace trajc_pg {

namespace {

constexpr uint64 kClaimSeed = UINT64CONST(0x7472616a635f7631);  // "trajc_v1"
constexpr int kInitialCapacity = 16;

uint64 claim_key(const char* session_id) {
  return hash_bytes_extended(reinterpret_cast<const unsigned char*>(session_id),
                             static_cast<int>(strlen(session_id)), kClaimSeed);
}

void claim_tag(LOCKTAG* tag, uint64 key) {
  SET_LOCKTAG_ADVISORY(*tag, MyDatabaseId, static_cast<uint32>(key >> 32),
                       static_cast<uint32>(key), 1);
}

void release_key(const Claims* claims, uint64 key) {
  LOCKTAG tag;
  claim_tag(&tag, key);
  LockRelease(&tag, ExclusiveLock, claims->session_level);
}

// Whether a transaction still in progress, other than this one, has stored
// an ok compile of the session. A dirty snapshot sees rows whose inserting
// transaction has not ended and says so in its xmin (set per tuple checked);
// this transaction's own rows are seen without it.
bool ok_compile_uncommitted(Oid ok_index, const char* session_id) {
  Relation index = index_open(ok_index, AccessShareLock);
  Relation heap = table_open(index->rd_index->indrelid, AccessShareLock);
  SnapshotData dirty;
  InitDirtySnapshot(dirty);
  ScanKeyData key;
  ScanKeyEntryInitialize(&key, 0, 1, BTEqualStrategyNumber, InvalidOid,
                         index->rd_indcollation[0], F_TEXTEQ, CStringGetTextDatum(session_id));
  IndexScanDesc scan = index_beginscan(heap, index, &dirty, 1, 0);
  index_rescan(scan, &key, 1, nullptr, 0);
  TupleTableSlot* slot = table_slot_create(heap, nullptr);
  bool found = false;
  while (!found && index_getnext_slot(scan, ForwardScanDirection, slot))
    found = TransactionIdIsValid(dirty.xmin);
  ExecDropSingleTupleTableSlot(slot);
  index_endscan(scan);
  table_close(heap, AccessShareLock);
  index_close(index, AccessShareLock);
  return found;
}

// One entry per acquisition: each release_claim undoes one.
void remember(Claims* claims, uint64 key) {
  if (claims->count == claims->capacity) {
    claims->capacity *= 2;
    claims->keys = static_cast<uint64*>(repalloc(claims->keys, sizeof(uint64) * claims->capacity));
  }
  claims->keys[claims->count++] = key;
}

}  // namespace

void claims_init(Claims* claims, bool session_level) {
  claims->session_level = session_level;
  claims->ok_index =
      get_relname_relid("compile_log_session_idx", get_namespace_oid("trajc", false));
  if (!OidIsValid(claims->ok_index))
    ereport(ERROR, (errcode(ERRCODE_UNDEFINED_OBJECT),
                    errmsg("index trajc.compile_log_session_idx is missing"),
                    errhint("Reinstall the extension: ALTER EXTENSION trajc UPDATE.")));
  claims->count = 0;
  claims->capacity = kInitialCapacity;
  claims->keys = static_cast<uint64*>(palloc(sizeof(uint64) * claims->capacity));
}

bool claim(Claims* claims, const char* session_id) {
  uint64 key = claim_key(session_id);
  LOCKTAG tag;
  claim_tag(&tag, key);
  LockAcquireResult r = LockAcquire(&tag, ExclusiveLock, claims->session_level, true);
  if (r == LOCKACQUIRE_NOT_AVAIL) return false;
  // ALREADY_HELD: claimed earlier by this very transaction or run (compiling a
  // session twice in one transaction), which is ours to use again.
  if (r == LOCKACQUIRE_OK && ok_compile_uncommitted(claims->ok_index, session_id)) {
    LockRelease(&tag, ExclusiveLock, claims->session_level);
    return false;
  }
  remember(claims, key);
  return true;
}

namespace {

// Takes the key out of the claims held; false if it was not held.
bool forget(Claims* claims, uint64 key) {
  for (int i = 0; i < claims->count; i++) {
    if (claims->keys[i] != key) continue;
    claims->keys[i] = claims->keys[--claims->count];
    return true;
  }
  return false;
}

}  // namespace

void release_claim(Claims* claims, const char* session_id) {
  uint64 key = claim_key(session_id);
  if (forget(claims, key)) release_key(claims, key);
}

void release_claim_at_commit(Claims* claims, const char* session_id) {
  uint64 key = claim_key(session_id);
  if (forget(claims, key) && claims->session_level) release_key(claims, key);
}

void release_all_claims(Claims* claims) {
  if (claims->session_level)
    for (int i = 0; i < claims->count; i++) release_key(claims, claims->keys[i]);
  claims->count = 0;
}

}  // namespace trajc_pg
