// Session claims on advisory locks, keyed by a 64-bit hash of the session id.
//
// The key lives in the bigint advisory-lock space (as pg_advisory_lock(bigint)),
// seeded so that it does not coincide with keys users pick by hand; in SQL,
// pg_locks shows it as objsubid = 1 and (classid << 32 | objid) =
// hashtextextended(session_id, 8390876165306283569).
//
// Must never: change the key (running versions must agree on it), or block.
#include "claims.hpp"

namespace trajc_pg {

namespace {

constexpr uint64 kClaimSeed = UINT64CONST(0x7472616a635f7631);  // "trajc_v1"
constexpr int kInitialCapacity = 64;

uint64 claim_key(const char* session_id) {
  return hash_bytes_extended(reinterpret_cast<const unsigned char*>(session_id),
                             static_cast<int>(strlen(session_id)), kClaimSeed);
}

void claim_tag(LOCKTAG* tag, uint64 key) {
  SET_LOCKTAG_ADVISORY(*tag, MyDatabaseId, static_cast<uint32>(key >> 32),
                       static_cast<uint32>(key), 1);
}

void release_key(uint64 key) {
  LOCKTAG tag;
  claim_tag(&tag, key);
  LockRelease(&tag, ExclusiveLock, true);
}

}  // namespace

void claims_init(Claims* claims, bool session_level) {
  claims->session_level = session_level;
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
  if (!claims->session_level) return true;  // the transaction's end releases it
  if (claims->count == claims->capacity) {
    claims->capacity *= 2;
    claims->keys = static_cast<uint64*>(repalloc(claims->keys, sizeof(uint64) * claims->capacity));
  }
  claims->keys[claims->count++] = key;
  return true;
}

void release_claim(Claims* claims, const char* session_id) {
  if (!claims->session_level) return;
  uint64 key = claim_key(session_id);
  for (int i = 0; i < claims->count; i++) {
    if (claims->keys[i] != key) continue;
    release_key(key);
    claims->keys[i] = claims->keys[--claims->count];
    return;
  }
}

void release_all_claims(Claims* claims) {
  for (int i = 0; i < claims->count; i++) release_key(claims->keys[i]);
  claims->count = 0;
}

}  // namespace trajc_pg
