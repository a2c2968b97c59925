#!/usr/bin/env bash
# Make the checkout's Snakemake profiles available by bare name (`snakemake --profile slurm-l4`):
# one symlink per profiles/<name> in Snakemake's user config dir (~/.config/snakemake on Linux, or
# $XDG_CONFIG_HOME/snakemake), pointing back here, so edits in profiles/ apply at once.
# Quiet when the links are there (ours, or another checkout's link to an identical profile); any other
# existing profile of the same name is left alone, with a warning.
# Usage: tools/link-profiles.sh [python]   (the python whose Snakemake will look the names up)
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
python="${1:-$here/.venv/bin/python}"
# Snakemake finds profiles through platformdirs' user config dir; ask the same library.
dest="$("$python" -c 'from platformdirs import AppDirs; print(AppDirs("snakemake", "snakemake").user_config_dir)')"
mkdir -p "$dest"
skipped=0
for profile in "$here"/profiles/*/; do
  profile="${profile%/}"
  name="$(basename "$profile")"
  link="$dest/$name"
  if [ -L "$link" ] && [ "$(readlink "$link")" = "$profile" ]; then
    :  # already ours: nothing to say
  elif [ -L "$link" ] && [ "$(readlink -f "$link")" = "$(readlink -f "$profile")" ]; then
    :  # the same profile reached by another path
  elif [ -L "$link" ] && cmp -s "$link/config.yaml" "$profile/config.yaml"; then
    :  # another checkout's link to the same profile (a shared venv, a second clone): it works as it is
  elif [ -e "$link" ] || [ -L "$link" ]; then
    echo "profiles: WARNING: $link exists and is not a link to $profile; left as it is." >&2
    echo "profiles:   use --profile $profile, or move $link away and run 'make profiles' again." >&2
    skipped=$((skipped + 1))
  else
    ln -s "$profile" "$link"
    echo "profiles: $name -> $profile (snakemake --profile $name)"
  fi
done
[ "$skipped" -eq 0 ] || echo "profiles: $skipped profile name(s) left to the existing ones (see above)" >&2
