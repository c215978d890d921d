# trajc built with Nix against a given PostgreSQL: the way supabase/postgres
# builds its own extensions (nix/ext/*.nix there), so the module links the
# same Nix libcurl as pg_net and the Nix gcc's libstdc++, both found through
# the RUNPATH Nix's linker wrapper records; nothing comes from Ubuntu's /usr.
# Used by psql-with-trajc.nix; never fetches anything but nixpkgs' inputs.
{ lib, stdenv, curl, nlohmann_json, postgresql, src }:

stdenv.mkDerivation {
  pname = "trajc";
  version = "0.2.0";

  # Only what the PGXS build reads (no build output, no .git).
  src = lib.cleanSourceWith {
    inherit src;
    filter = path: type:
      let rel = lib.removePrefix (toString src + "/") (toString path);
      in builtins.any (p: rel == p || lib.hasPrefix (p + "/") rel)
           [ "Makefile" "trajc.control" "include" "src" "sql" ]
         && !(lib.hasPrefix "src/cli" rel)
         && !(lib.hasSuffix ".o" rel) && !(lib.hasSuffix ".so" rel);
  };

  buildInputs = [ curl nlohmann_json postgresql ];
  makeFlags = [ "PG_CONFIG=${postgresql}/bin/pg_config" ];

  installPhase = ''
    mkdir -p $out/lib $out/share/postgresql/extension
    cp trajc${postgresql.dlSuffix} $out/lib/
    cp trajc.control sql/trajc--*.sql $out/share/postgresql/extension/
  '';

  meta = {
    description = "Compile agent audit-log trajectories into grounded question-answer pairs";
    license = lib.licenses.postgresql;
    platforms = postgresql.meta.platforms;
  };
}
