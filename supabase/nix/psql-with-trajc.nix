# The PostgreSQL environment of a supabase/postgres image with trajc added.
# The image holds its own flake at /nixpg and runs the environment
# `psql_15/bin` of it (Dockerfile-15 there: nix profile install .#psql_15/bin).
# This takes that very environment and the very postgresql_15 it was built
# from, so nothing already in the image is rebuilt or replaced:
#
#   nix build --impure --expr 'import ./psql-with-trajc.nix { src = <repo>; }'
#
# Never changes the image's own files; the Dockerfile installs the result into
# the default profile with a higher priority.
{ src, flake ? builtins.getFlake "path:/nixpg" }:

let
  system = builtins.currentSystem;
  pkgs = flake.inputs.nixpkgs.legacyPackages.${system};
  postgresql = flake.packages.${system}.postgresql_15;
  base = flake.packages.${system}."psql_15/bin";
  trajc = pkgs.callPackage ./trajc.nix { inherit postgresql src; };
in
pkgs.symlinkJoin {
  name = "${base.name}-trajc";
  paths = [ base trajc ];
  nativeBuildInputs = [ pkgs.makeWrapper ];
  # As postgresql.withPackages does (nix/postgresql/generic.nix there): the
  # server finds extension libraries through NIX_PGLIBDIR, set by its wrapper,
  # so it is wrapped anew to point at this environment's lib/.
  postBuild = ''
    rm -f $out/bin/postgres $out/bin/.postgres-wrapped $out/bin/pg_config $out/bin/pg_ctl
    cp --target-directory=$out/bin ${postgresql}/bin/{postgres,pg_config,pg_ctl}
    wrapProgram $out/bin/postgres --set NIX_PGLIBDIR $out/lib
  '';
}
