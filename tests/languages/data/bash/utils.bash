# We shouldn't rely on the user's grep settings to be correct. If we set these
# here anytime asdf invokes grep it will be invoked with these options
# shellcheck disable=SC2034
GREP_OPTIONS="--color=never"
# shellcheck disable=SC2034
GREP_COLORS=

ASDF_DIR=${ASDF_DIR:-''}
ASDF_DATA_DIR=${ASDF_DATA_DIR:-''}

fast_basename() {
  unset -v REPLY
  local dirpath="$1"
  dirpath=${dirpath%/}
  dirpath=${dirpath##*/}
  REPLY=$dirpath
}

# in order to make this able to call tr if bash v4 is unavailable,
# it requires inputting a tr-like string, e.g. tr '[:lower:]' '[:upper:]'
fast_tr() {
  unset -v REPLY
  inputArr=("$@")
  inputStr="${inputArr[0]}"
  if [ ! ${#inputArr[@]} -eq 3 ] && [ ! ${#inputArr[@]} -eq 5 ]; then
    printf "%s\n" "ERROR: fast_tr expects an array of 3 or 5 elements, got ${#inputArr[@]}"
    return 1
  fi
  # if bash >= v4, use parameter modification to upper/lower the string
  if [ ${BASH_VERSINFO[0]} -gt 3 ]; then
    case ${inputArr[1]} in
      "[:lower:]")
        REPLY="${inputStr^^}"
        ;;
      "[:upper:]")
        REPLY="${inputStr,,}"
        ;;
      "*")
        printf "%s\n" "ERROR: fast_tr() expects [:lower:] and [:upper:] as arguments"
    esac
    # and then use parameter substitution to replace characters in the string
    # if the 4th or 5th elements are not set, the substitution has no effect
    REPLY="${REPLY//${inputArr[3]-''}/${inputArr[4]-''}}"
  else
    # else use tr with the input array elements as args
    printf "%s\n" "${inputStr}" | tr "${inputArr[1]}${inputArr[3]-''}" "${inputArr[2]}${inputArr[4]-''}"
  fi
}

asdf_version() {
  local version git_rev
  version="v$(cat "$(asdf_dir)/version.txt")"
  if [ -d "$(asdf_dir)/.git" ]; then
    git_rev="$(git --git-dir "$(asdf_dir)/.git" rev-parse --short HEAD)"
    printf "%s-%s\n" "$version" "$git_rev"
  else
    printf "%s\n" "$version"
  fi
}

asdf_dir() {
  if [ -z "$ASDF_DIR" ]; then
    local current_script_path=${BASH_SOURCE[0]}
    export ASDF_DIR
    ASDF_DIR=$(
      cd "$(dirname "$(dirname "$current_script_path")")" || exit
      printf '%s\n' "$PWD"
    )
  fi

  printf "%s\n" "$ASDF_DIR"
}

asdf_repository_url() {
  printf "https://github.com/asdf-vm/asdf-plugins.git\n"
}

asdf_data_dir() {
  local data_dir

  if [ -n "${ASDF_DATA_DIR}" ]; then
    data_dir="${ASDF_DATA_DIR}"
  elif [ -n "$HOME" ]; then
    data_dir="$HOME/.asdf"
  else
    data_dir=$(asdf_dir)
  fi

  printf "%s\n" "$data_dir"
}

get_install_path() {
  local plugin=$1
  local install_type=$2
  local version=$3

  local install_dir
  install_dir="$(asdf_data_dir)/installs"

  mkdir -p "${install_dir}/${plugin}"

  if [ "$install_type" = "version" ]; then
    printf "%s/%s/%s\n" "$install_dir" "$plugin" "$version"
  elif [ "$install_type" = "path" ]; then
    printf "%s\n" "$version"
  else
    printf "%s/%s/%s-%s\n" "$install_dir" "$plugin" "$install_type" "$version"
  fi
}

get_download_path() {
  local plugin=$1
  local install_type=$2
  local version=$3

  local download_dir
  download_dir="$(asdf_data_dir)/downloads"

  mkdir -p "${download_dir}/${plugin}"

  if [ "$install_type" = "version" ]; then
    printf "%s/%s/%s\n" "$download_dir" "$plugin" "$version"
  elif [ "$install_type" = "path" ]; then
    return
  else
    printf "%s/%s/%s-%s\n" "$download_dir" "$plugin" "$install_type" "$version"
  fi
}

list_installed_versions() {
  local plugin_name=$1
  local plugin_path
  plugin_path=$(get_plugin_path "$plugin_name")

  local plugin_installs_path
  plugin_installs_path="$(asdf_data_dir)/installs/${plugin_name}"

  if [ -d "$plugin_installs_path" ]; then
    for install in "${plugin_installs_path}"/*/; do
      [[ -e "$install" ]] || break
      fast_basename "$install" && printf "%s\n" "$REPLY"
    done
  fi
}

check_if_plugin_exists() {
  local plugin_name=$1

  # Check if we have a non-empty argument
  if [ -z "${1}" ]; then
    display_error "No plugin given"
    exit 1
  fi

  if [ ! -d "$(asdf_data_dir)/plugins/$plugin_name" ]; then
    display_error "No such plugin: $plugin_name"
    exit 1
  fi
}

check_if_version_exists() {
  local plugin_name=$1
  local version=$2

  check_if_plugin_exists "$plugin_name"

  local install_path
  install_path=$(find_install_path "$plugin_name" "$version")

  if [ "$version" != "system" ] && [ ! -d "$install_path" ]; then
    exit 1
  fi
}

version_not_installed_text() {
  local plugin_name=$1
  local version=$2

  printf "version %s is not installed for %s\n" "$version" "$plugin_name"
}

get_plugin_path() {
  if [ -n "$1" ]; then
    printf "%s\n" "$(asdf_data_dir)/plugins/$1"
  else
    printf "%s\n" "$(asdf_data_dir)/plugins"
  fi
}

display_error() {
  printf "%s\n" "$1" >&2
}

get_version_in_dir() {
  local plugin_name=$1
  local search_path=$2
  local legacy_filenames=$3

  local asdf_version

  file_name=$(version_file_name)
  asdf_version=$(parse_asdf_version_file "$search_path/$file_name" "$plugin_name")

  if [ -n "$asdf_version" ]; then
    printf "%s\n" "$asdf_version|$search_path/$file_name"
    return 0
  fi

  for filename in $legacy_filenames; do
    local legacy_version
    legacy_version=$(parse_legacy_version_file "$search_path/$filename" "$plugin_name")

    if [ -n "$legacy_version" ]; then
      printf "%s\n" "$legacy_version|$search_path/$filename"
      return 0
    fi
  done
}

version_file_name() {
  printf "%s" "${ASDF_DEFAULT_TOOL_VERSIONS_FILENAME:-.tool-versions}"
}
