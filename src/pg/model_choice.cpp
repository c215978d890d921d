// Model choice: the tier map and prices in trajc.models, trajc.model's
// override, and the key from the setting, Vault or the server's environment.
//
// Must never: name a key in any message, read trajc.models without
// parameters, or take a NULL from trajc.models for a value.
#include "model_choice.hpp"

#include "guc.hpp"
#include "key_source.hpp"
#include "spi_util.hpp"

namespace trajc_pg {

namespace {

// The first row of trajc.models matching `select` ($1 provider, $2 tier or
// model): its model and prices. False when there is none.
bool fetch_model_row(const char* select, const ModelChoice& c, const char* key, ModelChoice& out) {
  Oid types[2] = {TEXTOID, TEXTOID};
  Datum args[2] = {CStringGetTextDatum(c.provider_name), CStringGetTextDatum(key)};
  spi_check(SPI_execute_with_args(select, 2, types, args, nullptr, true, 1), SPI_OK_SELECT,
            "reading trajc.models");
  if (SPI_processed == 0) {
    SPI_freetuptable(SPI_tuptable);
    return false;
  }
  HeapTuple row = SPI_tuptable->vals[0];
  TupleDesc desc = SPI_tuptable->tupdesc;
  bool model_null, in_null, out_null, discount_null;
  Datum model = SPI_getbinval(row, desc, 1, &model_null);
  Datum in = SPI_getbinval(row, desc, 2, &in_null);
  Datum price_out = SPI_getbinval(row, desc, 3, &out_null);
  Datum discount = SPI_getbinval(row, desc, 4, &discount_null);  // NOT NULL in the table
  if (model_null || in_null || out_null)
    ereport(ERROR, (errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
                    errmsg("trajc.models has a NULL model or price for %s \"%s\"", c.provider_name,
                           key),
                    errhint("Set the model and both prices of that row, or delete it.")));
  out.model = TextDatumGetCString(model);
  out.usd_per_mtok_in = DatumGetFloat8(in);
  out.usd_per_mtok_out = DatumGetFloat8(price_out);
  out.batch_discount = discount_null ? 1 : DatumGetFloat8(discount);
  SPI_freetuptable(SPI_tuptable);
  return true;
}

constexpr const char* kByModel =
    "SELECT model, usd_per_mtok_in::float8, usd_per_mtok_out::float8, batch_discount::float8"
    " FROM trajc.models WHERE provider = $1 AND model = $2 LIMIT 1";
constexpr const char* kByTier =
    "SELECT model, usd_per_mtok_in::float8, usd_per_mtok_out::float8, batch_discount::float8"
    " FROM trajc.models WHERE provider = $1 AND tier = $2";

void choose_priced_model(ModelChoice& c, const char* model) {
  const bool by_name = c.provider != trajc::Provider::Offline && model != nullptr &&
                        model[0] != '\0';
  if (by_name) {
    if (fetch_model_row(kByModel, c, model, c)) return;
    c.model = pstrdup(model);  // unpriced: cost is recorded as 0
    c.batch_discount = 1;
    ereport(NOTICE, (errmsg("model \"%s\" has no price in trajc.models; its cost is recorded as 0",
                            model)));
    return;
  }
  if (!fetch_model_row(kByTier, c, c.tier, c))
    ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE),
                    errmsg("trajc.models has no %s model for tier \"%s\"", c.provider_name, c.tier),
                    errhint("INSERT the model and its prices into trajc.models, or SET trajc.model.")));
}

// The key and base URL: setting, then Supabase Vault, then the server's
// environment (key_source.cpp, which also raises the missing-key error).
void choose_key(ModelChoice& c, bool need_key) {
  ProviderKey k = resolve_provider_key(c.provider, need_key);
  c.api_key = k.key;
  c.base_url = k.base_url;
}

}  // namespace

ProviderAccess provider_access(trajc::Provider p) {
  ProviderKey k = resolve_provider_key(p, false);
  return ProviderAccess{k.key, k.base_url};
}

ModelChoice choose_model(const char* tier_arg, bool need_key) {
  return choose_model_for(static_cast<trajc::Provider>(gucs.provider), gucs.model,
                          tier_arg != nullptr ? tier_arg : gucs.tier, need_key);
}

ModelChoice choose_model_for(trajc::Provider provider, const char* model, const char* tier,
                             bool need_key) {
  ModelChoice c{};
  c.provider = provider;
  c.provider_name = trajc::provider_name(c.provider);
  c.tier = tier;
  if (!is_tier(c.tier))
    ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE),
                    errmsg("unknown tier \"%s\"", c.tier),
                    errhint("Use cheap, standard or premium.")));
  choose_priced_model(c, model);
  c.api_key = nullptr;
  c.base_url = pstrdup("");
  if (c.provider != trajc::Provider::Offline) choose_key(c, need_key);
  return c;
}

}  // namespace trajc_pg
