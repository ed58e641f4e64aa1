# Shared by bin/cordon and bin/test: finds Java 25 and installs the Debian packages Cordon needs.
# Sourced, not run.

# Java 25 (Temurin on this machine kind). JAVA_HOME wins when it is 25 or newer.
cordon_find_java() {
  local candidates=()
  [[ -n "${CORDON_JAVA_HOME:-}" ]] && candidates+=("$CORDON_JAVA_HOME")
  [[ -n "${JAVA_HOME:-}" ]] && candidates+=("$JAVA_HOME")
  candidates+=(/usr/lib/jvm/temurin-25-jdk-amd64 /usr/lib/jvm/temurin-25-jdk /usr/lib/jvm/java-25-openjdk-amd64)
  local d v
  for d in "${candidates[@]}"; do
    [[ -x "$d/bin/java" ]] || continue
    v=$("$d/bin/java" -XshowSettings:properties -version 2>&1 | sed -n 's/^ *java.specification.version = //p')
    if [[ -n "$v" && "${v%%.*}" -ge 25 ]]; then
      echo "$d"
      return 0
    fi
  done
  echo "cordon: Java 25 not found (looked at \$CORDON_JAVA_HOME, \$JAVA_HOME and /usr/lib/jvm/temurin-25-jdk-amd64)." >&2
  echo "cordon: install Temurin 25 (https://adoptium.net) or point CORDON_JAVA_HOME at a JDK 25." >&2
  return 1
}

# Debian packages for the native tier (bubblewrap, libseccomp) and its Python packages.
# Installed only when missing, and only when we can (root or passwordless sudo); otherwise we say
# what is missing and go on: the native tier refuses to run without them (it never runs unsandboxed).
CORDON_DEBIAN_PACKAGES=(bubblewrap libseccomp2 e2fsprogs mount python3 python3-pip python3-numpy python3-pandas
  python3-matplotlib python3-seaborn python3-openpyxl python3-requests python3-bs4 python3-yaml python3-pytest)

cordon_install_packages() {
  local missing=() p
  command -v dpkg-query >/dev/null 2>&1 || return 0
  for p in "${CORDON_DEBIAN_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  ((${#missing[@]})) || return 0
  local sudo=""
  if [[ $(id -u) -ne 0 ]]; then
    if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then sudo="sudo -n"; else
      echo "cordon: missing Debian packages: ${missing[*]} (the native tier needs them)." >&2
      echo "cordon: install them with: sudo apt-get install -y ${missing[*]}" >&2
      return 0
    fi
  fi
  echo "cordon: installing Debian packages: ${missing[*]}" >&2
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}" >&2 \
    || { $sudo apt-get update -q >&2 && $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}" >&2; }
}
