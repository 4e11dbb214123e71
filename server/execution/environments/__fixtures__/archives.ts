/**
 * Test archives built by the tests themselves, and a labelled stand-in for `pixi-unpack`.
 *
 * pixi-pack / pixi-unpack and conda-pack are not packaged for this machine (neither Debian nor
 * npm), so the tests build archives with the same LAYOUT the tools produce and document:
 *
 *  - a pixi-pack archive (`environment.tar`): `pixi-pack.json`, `environment.yml` and a local
 *    conda channel `channel/<subdir>/<pkg>.tar.bz2` + `repodata.json`
 *    (https://github.com/Quantco/pixi-pack README, "environment.tar" listing);
 *  - `PIXI_UNPACK_SHIM`: a TEST STAND-IN for `pixi-unpack`, doing what pixi-unpack documents:
 *    `pixi-unpack [--output-directory D] [--env-name N] PACK` creates the environment in `D/N`
 *    (default `./env`) from the packed channel and writes `D/activate.sh` that exports PATH and
 *    CONDA_PREFIX and sources the packages' `etc/conda/activate.d/*.sh` (README: "It also
 *    creates an activate.sh ... export PATH=... export CONDA_PREFIX=..."). "Installing" a
 *    `.tar.bz2` conda package = extracting it into the prefix (the legacy conda package format
 *    is a plain tarball of the prefix files plus `info/`).
 *  - a self-extracting `env.sh` like `pixi-pack --create-executable` makes (accepts
 *    `--output-directory` and `--env-name`, as fasthep-flow calls it);
 *  - a conda-pack archive (`env.tar.gz`): the prefix files with `bin/activate` and
 *    `bin/conda-unpack` (https://conda.github.io/conda-pack/: "tar -xzf my_env.tar.gz -C my_env;
 *    source my_env/bin/activate; conda-unpack"). The stand-in conda-unpack rewrites the build
 *    prefix placeholder in the environment's text files, which is what conda-unpack does.
 */
import { execFileSync } from 'node:child_process'
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import path from 'node:path'

export const PIXI_UNPACK_SHIM = `#!/bin/bash
# TEST STAND-IN for pixi-unpack (not the real tool: it is not packaged here).
# Implements the documented interface: pixi-unpack [--output-directory D] [--env-name N] [PACK]
set -euo pipefail
out="$PWD"; name=env; pack="$PWD/environment.tar"
while [ $# -gt 0 ]; do
  case "$1" in
    -o|--output-directory) out="$2"; shift 2 ;;
    -e|--env-name) name="$2"; shift 2 ;;
    -*) echo "pixi-unpack (test stand-in): unknown option $1" >&2; exit 2 ;;
    *) pack="$1"; shift ;;
  esac
done
echo "pixi-unpack (test stand-in): unpacking $pack into $out/$name" >&2
work=$(mktemp -d)
tar -xf "$pack" -C "$work"
test -f "$work/pixi-pack.json" || { echo "pixi-unpack: $pack is not a pixi-pack archive (no pixi-pack.json)" >&2; exit 1; }
mkdir -p "$out"
out=$(cd "$out" && pwd)
prefix="$out/$name"
mkdir -p "$prefix/conda-meta"
for pkg in "$work"/channel/*/*.tar.bz2; do
  [ -e "$pkg" ] || continue
  tar -xjf "$pkg" -C "$prefix"
  echo '{}' > "$prefix/conda-meta/$(basename "$pkg" .tar.bz2).json"
done
rm -rf "$work"
{
  echo "export PATH=\\"$prefix/bin:\\$PATH\\""
  echo "export CONDA_PREFIX=\\"$prefix\\""
  for s in "$prefix"/etc/conda/activate.d/*.sh; do [ -e "$s" ] && echo ". \\"$s\\""; done
} > "$out/activate.sh"
`

function sh(cmd: string, args: string[], cwd?: string) {
  execFileSync(cmd, args, { cwd, stdio: ['ignore', 'ignore', 'pipe'] })
}

/** a fake conda package (legacy .tar.bz2): a `python` that reports where it lives + an activate.d hook */
function makeCondaPackage(dir: string, file: string, marker: string): void {
  const root = path.join(dir, 'pkgroot')
  mkdirSync(path.join(root, 'bin'), { recursive: true })
  mkdirSync(path.join(root, 'info'), { recursive: true })
  mkdirSync(path.join(root, 'etc/conda/activate.d'), { recursive: true })
  writeFileSync(path.join(root, 'bin/python'), `#!/bin/sh\necho "${marker} python from $0"\n`)
  chmodSync(path.join(root, 'bin/python'), 0o755)
  writeFileSync(path.join(root, 'etc/conda/activate.d/fasthep.sh'), `export FASTHEP_ENV_MARKER=${marker}\n`)
  writeFileSync(
    path.join(root, 'info/index.json'),
    JSON.stringify({ name: 'fasthep-test', version: '1.0', build: '0', subdir: 'noarch' }),
  )
  sh('tar', ['-cjf', file, '-C', root, '.'])
}

/** a pixi-pack style `environment.tar` with one package whose python prints `marker` */
export function makePixiPackTar(dir: string, marker = 'packed-pixi'): string {
  const stage = path.join(dir, 'pixi-stage')
  mkdirSync(path.join(stage, 'channel/noarch'), { recursive: true })
  writeFileSync(path.join(stage, 'pixi-pack.json'), JSON.stringify({ version: 1, platform: 'linux-64' }))
  writeFileSync(path.join(stage, 'environment.yml'), 'channels:\n  - ./channel\ndependencies:\n  - fasthep-test\n')
  makeCondaPackage(dir, path.join(stage, 'channel/noarch/fasthep-test-1.0-0.tar.bz2'), marker)
  writeFileSync(
    path.join(stage, 'channel/noarch/repodata.json'),
    JSON.stringify({ packages: { 'fasthep-test-1.0-0.tar.bz2': {} } }),
  )
  const out = path.join(dir, 'environment.tar')
  sh('tar', ['-cf', out, '-C', stage, '.'])
  return out
}

/** a self-extracting `env.sh` (like `pixi-pack --create-executable`): unpacks itself, no pixi-unpack needed */
export function makeSelfExtractingPack(dir: string, marker = 'self-extracting'): string {
  const tar = makePixiPackTar(path.join(dir, 'inner'), marker)
  const header = `#!/bin/bash
# TEST STAND-IN for a pixi-pack --create-executable script: the pack is appended below the marker line
set -euo pipefail
out="$PWD"; name=env
while [ $# -gt 0 ]; do case "$1" in --output-directory) out="$2"; shift 2 ;; --env-name) name="$2"; shift 2 ;; *) shift ;; esac; done
tmp=$(mktemp -d)
line=$(grep -an '^__PIXI_PACK_ARCHIVE__$' "$0" | cut -d: -f1)
tail -n +$((line + 1)) "$0" > "$tmp/environment.tar"
cat > "$tmp/pixi-unpack" <<'SHIM'
${PIXI_UNPACK_SHIM}
SHIM
bash "$tmp/pixi-unpack" --output-directory "$out" --env-name "$name" "$tmp/environment.tar"
rm -rf "$tmp"
exit 0
__PIXI_PACK_ARCHIVE__
`
  const out = path.join(dir, 'env.sh')
  writeFileSync(out, Buffer.concat([Buffer.from(header), readFileSync(tar)]))
  return out
}

export const CONDA_PLACEHOLDER = '/opt/conda-pack-build/placeholder/prefix'

/** a conda-pack style `env.tar.gz`: bin/activate, bin/conda-unpack, and a tool with the build prefix baked in */
export function makeCondaPackTarGz(dir: string, marker = 'conda-pack'): string {
  const root = path.join(dir, 'conda-env')
  mkdirSync(path.join(root, 'bin'), { recursive: true })
  writeFileSync(
    path.join(root, 'bin/activate'),
    '# conda-pack activate (test archive)\n_cp_here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"\nexport CONDA_PREFIX="$_cp_here"\nexport PATH="$_cp_here/bin:$PATH"\n',
  )
  writeFileSync(
    path.join(root, 'bin/conda-unpack'),
    `#!/bin/bash\n# TEST STAND-IN for conda-unpack: replace the build prefix placeholder with this prefix\nset -e\nhere="$(cd "$(dirname "$0")/.." && pwd)"\ngrep -rlI '${CONDA_PLACEHOLDER}' "$here" | while read -r f; do sed -i "s#${CONDA_PLACEHOLDER}#$here#g" "$f"; done\necho "conda-unpack: prefixes fixed in $here" >&2\n`,
  )
  writeFileSync(
    path.join(root, 'bin/tool'),
    `#!/bin/sh\nPREFIX=${CONDA_PLACEHOLDER}\necho "${marker} tool prefix=$PREFIX"\n`,
  )
  writeFileSync(path.join(root, 'bin/python'), `#!/bin/sh\necho "${marker} python from $0"\n`)
  for (const f of ['conda-unpack', 'tool', 'python']) chmodSync(path.join(root, 'bin', f), 0o755)
  const out = path.join(dir, 'env.tar.gz')
  sh('tar', ['-czf', out, '-C', root, '.'])
  return out
}

/** a bin directory with the pixi-unpack stand-in */
export function pixiUnpackBin(dir: string): string {
  const bin = path.join(dir, 'shim-bin')
  mkdirSync(bin, { recursive: true })
  writeFileSync(path.join(bin, 'pixi-unpack'), PIXI_UNPACK_SHIM)
  chmodSync(path.join(bin, 'pixi-unpack'), 0o755)
  return bin
}
