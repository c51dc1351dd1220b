# dropship's helpers for Octopus bash and sh scripts, sourced before the script.
#
# Written for dropship from the behaviour in docs/octopus-conventions.md §5.4 (not Calamari's
# code): same function names, arguments and service messages. POSIX sh plus `local`, so the same
# file serves `sh` (dash) and bash; names with a hyphen are defined only under bash. Variable
# values come from `__dropship_get`, defined by the variables file sourced just before this one.
# Deliberate differences: helpers keep their state in `local`s (Calamari's leak into globals such
# as MESSAGE), `write_*` print their text quoted (no glob expansion), and a missing artifact file
# gives a clear error before the same exit code 127.

# base64 of $1 (UTF-8 bytes), on one line, no newline.
__dropship_b64() {
    if command -v base64 >/dev/null 2>&1; then
        printf '%s' "$1" | base64 | tr -d '\n'
    else
        printf '%s' "$1" | openssl base64 -A
    fi
}

encode_servicemessagevalue() {
    __dropship_b64 "${1-}"
}

decode_servicemessagevalue() {
    if command -v base64 >/dev/null 2>&1; then
        printf '%s' "${1-}" | base64 -d
    else
        printf '%s\n' "${1-}" | openssl base64 -d -A
    fi
}

# The value of a variable (exact, case-sensitive name) with no trailing newline; an unknown name
# prints an empty line, as Calamari's does.
get_octopusvariable() {
    __dropship_get "${1-}" || echo
}

# set_octopusvariable NAME VALUE [-sensitive]; an empty name or value leaves its attribute out.
set_octopusvariable() {
    local message="##octopus[setVariable"
    if [ -n "${1-}" ]; then message="$message name='$(__dropship_b64 "$1")'"; fi
    if [ -n "${2-}" ]; then message="$message value='$(__dropship_b64 "$2")'"; fi
    if [ "${3-}" = "-sensitive" ]; then message="$message sensitive='VHJ1ZQ=='"; fi
    printf '%s]\n' "$message"
}

# set_environmentstate KEY VALUE [-sensitive] [TYPE (default State)]
set_environmentstate() {
    local message="##octopus[set-environmentstate" sensitive="" type="${3:-State}"
    if [ "${3-}" = "-sensitive" ]; then
        sensitive=" sensitive='VHJ1ZQ=='"
        type="${4:-State}"
    fi
    if [ -n "${1-}" ]; then message="$message key='$(__dropship_b64 "$1")'"; fi
    if [ -n "${2-}" ]; then message="$message value='$(__dropship_b64 "$2")'"; fi
    printf "%s%s type='%s']\n" "$message" "$sensitive" "$(__dropship_b64 "$type")"
}

set_environmenturl() {
    set_environmentstate "${1-}" "${2-}" Url
}

# new_octopusartifact PATH [NAME]: ask for a file to be kept after the step.
new_octopusartifact() {
    local path="${1-}" name="${2-}" absolute length
    if [ ! -f "$path" ]; then
        printf 'new_octopusartifact: there is no file at %s\n' "$path" >&2
        exit 127
    fi
    if [ -z "$name" ]; then name=$(basename "$path"); fi
    absolute="$(cd "$(dirname "$path")" && pwd -P)/$(basename "$path")"
    length=$(wc -c <"$path" | tr -d ' ')
    echo "Collecting $path as an artifact..."
    write_verbose "Artifact $name will be collected from $absolute after this step completes"
    printf "##octopus[createArtifact path='%s' name='%s' length='%s']\n" \
        "$(__dropship_b64 "$absolute")" "$(__dropship_b64 "$name")" "$(__dropship_b64 "$length")"
}

# fail_step [MESSAGE]: the message becomes the step's failure text; the script ends with 1.
fail_step() {
    if [ -n "${1-}" ]; then
        printf "##octopus[resultMessage message='%s']\n" "$(__dropship_b64 "$1")"
    fi
    exit 1
}

update_progress() {
    printf "##octopus[progress percentage='%s' message='%s']\n" \
        "$(__dropship_b64 "${1-}")" "$(__dropship_b64 "${2-}")"
}

__dropship_write() {
    printf '##octopus[%s]\n%s\n##octopus[stdout-default]\n' "$1" "$2"
}
write_verbose() { __dropship_write stdout-verbose "${1-}"; }
write_highlight() { __dropship_write stdout-highlight "${1-}"; }
write_wait() { __dropship_write stdout-wait "${1-}"; }
write_warning() { __dropship_write stdout-warning "${1-}"; }

# new_octopustarget -n NAME -t TARGET-ID [--inputs JSON] [--roles R] [--worker-pool P]
# [--update-if-existing]. A subshell, as in Calamari: a bad option returns 1, it does not exit.
new_octopustarget() (
    message="##octopus[createStepPackageTarget"
    while [ $# -gt 0 ]; do
        case "$1" in
        -n | --name) attribute=name ;;
        -t | --target-id) attribute=targetId ;;
        --inputs) attribute=inputs ;;
        --roles) attribute=octopusRoles ;;
        --worker-pool) attribute=octopusDefaultWorkerPoolIdOrName ;;
        --update-if-existing)
            message="$message updateIfExisting='dHJ1ZQ=='"
            shift
            continue
            ;;
        *)
            echo "new_octopustarget: unknown option $1" >&2
            exit 1
            ;;
        esac
        message="$message $attribute='$(__dropship_b64 "${2-}")'"
        shift
        if [ $# -gt 0 ]; then shift; fi
    done
    printf '%s]\n' "$message"
)

# report_kubernetes_manifest TEXT [NAMESPACE]: one message per non-empty YAML document (documents
# split on lines that are `---` once trimmed). Logged only: dropship has no Kubernetes view.
report_kubernetes_manifest() {
    local document="" line
    while IFS= read -r line || [ -n "$line" ]; do
        if [ "$(printf '%s' "$line" | sed 's/^[[:space:]]*//; s/[[:space:]]*$//')" = "---" ]; then
            __dropship_manifest "$document" "${2-}"
            document=""
        else
            document="$document$line
"
        fi
    done <<__DROPSHIP_MANIFEST__
${1-}
__DROPSHIP_MANIFEST__
    __dropship_manifest "$document" "${2-}"
}

__dropship_manifest() {
    local message
    if [ -z "$(printf '%s' "$1" | tr -d '[:space:]')" ]; then return 0; fi
    message="##octopus[k8s-manifest-applied manifest='$(__dropship_b64 "$1")'"
    if [ -n "$2" ]; then message="$message ns='$(__dropship_b64 "$2")'"; fi
    printf '%s]\n' "$message"
}

report_kubernetes_manifest_file() {
    if [ -f "${1-}" ]; then
        report_kubernetes_manifest "$(cat "$1")" "${2-}"
    else
        write_verbose "No Kubernetes manifest file was found at '${1-}'."
    fi
}

if [ -n "${BASH_VERSION-}" ]; then
    # A hyphen in a function name is bash-only; eval keeps dash from parsing it.
    eval 'remove-octopustarget() { printf "##octopus[delete-target machine='"'"'%s'"'"']\n" "$(__dropship_b64 "${1-}")"; }'
fi

if [ "$(get_octopusvariable Octopus.Action.Script.SuppressEnvironmentLogging)" != "True" ]; then
    echo "##octopus[stdout-verbose]"
    echo "Shell Environment Information:"
    echo "  OperatingSystem: $(uname -a)"
    echo "  CurrentUser: $(id -un 2>/dev/null)"
    echo "  HostName: $(hostname 2>/dev/null || uname -n)"
    echo "  CurrentDirectory: $(pwd)"
    echo "  HostProcessID: $$"
    echo "##octopus[stdout-default]"
fi
