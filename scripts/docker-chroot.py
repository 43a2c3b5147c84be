#!/usr/bin/env python3
"""Builds an image from a Dockerfile without a Docker engine, then runs it and probes it.

No Docker engine runs on the development and CI machines, so this reads the Dockerfile itself
and carries out each stage's instructions (FROM ARG ENV WORKDIR COPY RUN USER EXPOSE
ENTRYPOINT CMD HEALTHCHECK STOPSIGNAL SHELL LABEL, COPY --from=<stage>) in a directory tree:
a Debian root made with debootstrap stands in for debian:bookworm(-slim), and every RUN and the
container itself run chrooted, as the instruction's user, in private mount, PID, IPC and UTS
namespaces (the container also in its own network namespace), the way a container runtime
does. Anything it does not understand fails the build, so a Dockerfile that could not build
under docker cannot pass here. scripts/docker-check.sh runs it (docker/README.md).

  docker-chroot.py [--no-cache] [--cache DIR] [--probe PATH]... [-f Dockerfile] [context]

Mounts are made only inside those private mount namespaces, so they vanish with the step's
last process, however it ends.
"""

import argparse
import copy
import datetime
import fcntl
import glob
import hashlib
import http.client
import json
import os
import re
import shlex
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time

DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
BASE_MAX_AGE_DAYS = 7  # like pulling a moving tag again: a week-old base is made anew
BASE_RECIPE = 2  # bump when Bases.ensure() makes a different root, so caches are made anew


class BuildError(Exception):
    pass


def say(msg):
    print(msg, flush=True)


# ------------------------------------------------------------------------------------------
# Dockerfile parsing (no I/O)
# ------------------------------------------------------------------------------------------

class Instruction:
    def __init__(self, lineno, cmd, flags, args, exec_form):
        self.lineno = lineno          # first line of the instruction
        self.cmd = cmd                # upper case: RUN, COPY, ...
        self.flags = flags            # {"from": "builder", ...} for --from=builder
        self.args = args              # the rest, as written (continuations joined)
        self.exec_form = exec_form    # the JSON array form, or None

    def text(self):
        flags = "".join(f" --{k}={v}" for k, v in self.flags.items())
        return f"{self.cmd}{flags} {self.args}"


KNOWN = {"FROM", "ARG", "ENV", "WORKDIR", "COPY", "ADD", "RUN", "USER", "EXPOSE", "ENTRYPOINT",
         "CMD", "HEALTHCHECK", "STOPSIGNAL", "SHELL", "LABEL", "VOLUME", "MAINTAINER"}
FLAGGED = {"FROM", "COPY", "ADD", "RUN", "HEALTHCHECK"}


def parse_dockerfile(text):
    lines = text.split("\n")
    # Parser directives (# syntax=..., # escape=...) may only open the file.
    for line in lines:
        m = re.match(r"^\s*#\s*([a-zA-Z]+)\s*=\s*(.*?)\s*$", line)
        if not m:
            break
        if m.group(1).lower() == "escape" and m.group(2) != "\\":
            raise BuildError("the escape directive is not supported by this check")
    out = []
    i = 0
    while i < len(lines):
        line = lines[i]
        lineno = i + 1
        i += 1
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        parts = []
        cur = line
        # A trailing backslash continues the instruction; comment and empty lines inside a
        # continuation are skipped, as docker does.
        while re.search(r"\\\s*$", cur):
            parts.append(re.sub(r"\\\s*$", "", cur))
            while i < len(lines) and (not lines[i].strip() or lines[i].lstrip().startswith("#")):
                i += 1
            if i >= len(lines):
                cur = ""
                break
            cur = lines[i]
            i += 1
        parts.append(cur)
        full = " ".join(p.strip() for p in parts if p.strip())
        m = re.match(r"^(\S+)\s*(.*)$", full)
        cmd, rest = m.group(1).upper(), m.group(2)
        if cmd not in KNOWN:
            raise BuildError(f"line {lineno}: unknown or unsupported instruction {cmd}")
        flags = {}
        if cmd in FLAGGED:
            while True:
                fm = re.match(r"^--([a-z-]+)(?:=(\S*))?\s*(.*)$", rest)
                if not fm:
                    break
                flags[fm.group(1)] = fm.group(2) if fm.group(2) is not None else "true"
                rest = fm.group(3)
        if cmd == "RUN" and rest.startswith("<<"):
            raise BuildError(f"line {lineno}: RUN heredocs are not supported by this check")
        exec_form = None
        if rest.startswith("["):
            try:
                v = json.loads(rest)
                if isinstance(v, list) and all(isinstance(x, str) for x in v):
                    exec_form = v
            except ValueError:
                pass  # docker runs it as a shell form then
        out.append(Instruction(lineno, cmd, flags, rest, exec_form))
    return out


def substitute(s, env):
    """Docker's variable substitution: $VAR, ${VAR}, ${VAR:-word}, ${VAR:+word}, \\$."""
    out = []
    i = 0
    while i < len(s):
        c = s[i]
        if c == "\\" and i + 1 < len(s) and s[i + 1] == "$":
            out.append("$")
            i += 2
        elif c == "$" and i + 1 < len(s) and s[i + 1] == "{":
            j = s.index("}", i)
            body = s[i + 2:j]
            m = re.match(r"^(\w+)(?::([-+])(.*))?$", body)
            if not m:
                raise BuildError(f"bad substitution ${{{body}}}")
            name, op, word = m.groups()
            val = env.get(name)
            if op == "-":
                val = val if val else word
            elif op == "+":
                val = word if val else ""
            out.append(val or "")
            i = j + 1
        elif c == "$" and i + 1 < len(s) and re.match(r"\w", s[i + 1]):
            m = re.match(r"\w+", s[i + 1:])
            out.append(env.get(m.group(0), ""))
            i += 1 + len(m.group(0))
        else:
            out.append(c)
            i += 1
    return "".join(out)


def parse_key_values(args, env):
    """ENV/LABEL/ARG bodies: key=value pairs (shell-quoted), or the old `KEY value` form."""
    words = shlex.split(args, posix=True)
    if words and "=" not in words[0]:
        return [(words[0], substitute(args.split(None, 1)[1] if len(words) > 1 else "", env))]
    pairs = []
    for w in words:
        k, _, v = w.partition("=")
        pairs.append((k, substitute(v, env)))
    return pairs


def parse_duration(s):
    total = 0.0
    units = {"ns": 1e-9, "us": 1e-6, "ms": 1e-3, "s": 1, "m": 60, "h": 3600}
    for num, unit in re.findall(r"([\d.]+)(ns|us|ms|s|m|h)", s):
        total += float(num) * units[unit]
    if not re.fullmatch(r"([\d.]+(ns|us|ms|s|m|h))+", s):
        raise BuildError(f"bad duration {s}")
    return total


class Stage:
    def __init__(self, index, base, name, lineno):
        self.index = index
        self.base = base
        self.name = name
        self.lineno = lineno
        self.instructions = []
        self.label = name or f"stage-{index}"


def split_stages(instructions, build_args):
    global_args = {}
    stages = []
    for ins in instructions:
        if ins.cmd == "FROM":
            words = ins.args.split()
            if len(words) == 3 and words[1].upper() == "AS":
                base, name = substitute(words[0], global_args), words[2].lower()
            elif len(words) == 1:
                base, name = substitute(words[0], global_args), None
            else:
                raise BuildError(f"line {ins.lineno}: cannot read FROM {ins.args}")
            if set(ins.flags) - {"platform"}:
                raise BuildError(f"line {ins.lineno}: unsupported FROM flags {ins.flags}")
            stages.append(Stage(len(stages), base, name, ins.lineno))
        elif not stages:
            if ins.cmd != "ARG":
                raise BuildError(f"line {ins.lineno}: {ins.cmd} before the first FROM")
            for k, v in parse_key_values(ins.args, global_args) if "=" in ins.args else [
                    (ins.args.strip(), None)]:
                global_args[k] = build_args.get(k, v if v is not None else "")
        else:
            stages[-1].instructions.append(ins)
    if not stages:
        raise BuildError("no FROM in the Dockerfile")
    return global_args, stages


# ------------------------------------------------------------------------------------------
# .dockerignore
# ------------------------------------------------------------------------------------------

class DockerIgnore:
    def __init__(self, text):
        self.rules = []  # (negated, regex)
        for line in text.splitlines():
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            neg = line.startswith("!")
            if neg:
                line = line[1:].strip()
            line = os.path.normpath(line).lstrip("/")
            self.rules.append((neg, re.compile("^" + self._regex(line) + "$")))

    @staticmethod
    def _regex(pat):
        out, i = [], 0
        while i < len(pat):
            c = pat[i]
            if pat.startswith("**", i):
                out.append(".*")
                i += 2
                if pat.startswith("/", i):
                    out[-1] = "(.*/)?"
                    i += 1
                continue
            if c == "*":
                out.append("[^/]*")
            elif c == "?":
                out.append("[^/]")
            elif c == "[":
                j = pat.find("]", i)
                out.append(pat[i:j + 1] if j > 0 else re.escape(c))
                i = j if j > 0 else i
            else:
                out.append(re.escape(c))
            i += 1
        return "".join(out)

    def excluded(self, rel):
        """rel: path relative to the context root. A pattern that matches a parent directory
        excludes everything under it (unless a later ! pattern brings it back)."""
        parts = rel.split("/")
        prefixes = ["/".join(parts[:n]) for n in range(1, len(parts) + 1)]
        result = False
        for neg, rx in self.rules:
            if any(rx.match(p) for p in prefixes):
                result = not neg
        return result


# ------------------------------------------------------------------------------------------
# Paths inside a root: symlinks resolve against the root, never the host
# ------------------------------------------------------------------------------------------

def in_root(root, path, follow_last=True):
    """The host path of `path` seen from inside `root`, following symlinks the way the
    chrooted process would (an absolute link target starts again at the root)."""
    todo = [p for p in path.split("/") if p]
    done = []
    hops = 0
    while todo:
        part = todo.pop(0)
        if part == ".":
            continue
        if part == "..":
            if done:
                done.pop()
            continue
        host = os.path.join(root, *done, part)
        if os.path.islink(host) and (todo or follow_last):
            hops += 1
            if hops > 40:
                raise BuildError(f"too many symlinks in {path}")
            target = os.readlink(host)
            if target.startswith("/"):
                done = []
            todo = [p for p in target.split("/") if p] + todo
            continue
        done.append(part)
    return os.path.join(root, *done)


def makedirs_in_root(root, path, uid=0, gid=0):
    parts = [p for p in path.split("/") if p]
    cur = "/"
    for p in parts:
        cur = os.path.join(cur, p)
        host = in_root(root, cur)
        if not os.path.exists(host):
            os.mkdir(host, 0o755)
            os.chown(host, uid, gid)
        elif not os.path.isdir(host):
            raise BuildError(f"{cur} exists in the image and is not a directory")
    return in_root(root, path)


def lookup_user(root, spec):
    """USER name[:group] or uid[:gid], resolved in the image's /etc/passwd and /etc/group."""
    user, _, group = spec.partition(":")

    def table(name):
        rows = {}
        try:
            with open(in_root(root, f"/etc/{name}")) as f:
                for line in f:
                    fields = line.rstrip("\n").split(":")
                    if len(fields) >= 4:
                        rows[fields[0]] = fields
        except FileNotFoundError:
            pass
        return rows

    passwd, groups = table("passwd"), table("group")
    home = "/"
    if user.isdigit():
        uid = int(user)
        gid = next((int(r[3]) for r in passwd.values() if r[2] == user), 0)
        home = next((r[5] for r in passwd.values() if r[2] == user), "/")
    elif user in passwd:
        uid, gid, home = int(passwd[user][2]), int(passwd[user][3]), passwd[user][5]
    else:
        raise BuildError(f"unable to find user {user}: no matching entries in passwd file")
    if group:
        if group.isdigit():
            gid = int(group)
        elif group in groups:
            gid = int(groups[group][2])
        else:
            raise BuildError(f"unable to find group {group}")
    return uid, gid, home


# ------------------------------------------------------------------------------------------
# Running a command inside a root
# ------------------------------------------------------------------------------------------

def bring_loopback_up():
    # A new network namespace has lo down; SIOCGIFFLAGS/SIOCSIFFLAGS, no iproute2 needed.
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    ifr = struct.pack("16sh", b"lo", 0)
    flags = struct.unpack("16sh", fcntl.ioctl(s, 0x8913, ifr))[1]
    fcntl.ioctl(s, 0x8914, struct.pack("16sh", b"lo", flags | 0x1 | 0x40))
    s.close()


def setup_mounts(spec):
    """Runs inside the new mount (and PID) namespace, before chroot: what a runtime gives a
    container: /proc, a read-only /sys, a small /dev, its own resolv.conf and hosts."""
    root = spec["root"]

    def mount(*a):
        subprocess.run(["mount", *a], check=True)

    def point(path, is_dir=True):
        host = in_root(root, path)
        if not os.path.lexists(host):
            if is_dir:
                os.makedirs(host, 0o755)
            else:
                open(host, "a").close()
        return host

    mount("-t", "proc", "-o", "nosuid,nodev,noexec", "proc", point("/proc"))
    mount("-t", "sysfs", "-o", "ro,nosuid,nodev,noexec", "sysfs", point("/sys"))
    dev = point("/dev")
    mount("-t", "tmpfs", "-o", "nosuid,mode=755,size=65536k", "tmpfs", dev)
    for node in ("null", "zero", "full", "random", "urandom", "tty"):
        open(os.path.join(dev, node), "a").close()
        mount("--bind", f"/dev/{node}", os.path.join(dev, node))
    for d in ("pts", "shm"):
        os.mkdir(os.path.join(dev, d))
    mount("-t", "devpts", "-o", "newinstance,ptmxmode=0666,mode=620", "devpts",
          os.path.join(dev, "pts"))
    mount("-t", "tmpfs", "-o", "nosuid,nodev,mode=1777", "shm", os.path.join(dev, "shm"))
    for name, target in (("ptmx", "pts/ptmx"), ("fd", "/proc/self/fd"),
                         ("stdin", "/proc/self/fd/0"), ("stdout", "/proc/self/fd/1"),
                         ("stderr", "/proc/self/fd/2")):
        os.symlink(target, os.path.join(dev, name))
    for src, dst in spec.get("files", []):
        mount("--bind", src, point(dst, is_dir=False))
    for src, dst in spec.get("cache_mounts", []):
        mount("--bind", src, point(dst))


def exec_in_root(spec):
    """The last step of every RUN, of the container and of its health check: enter the root
    as the image's user and exec the command (resolved on the image's PATH)."""
    if spec.get("setup"):
        setup_mounts(spec)
    if spec.get("loopback"):
        bring_loopback_up()
    if spec.get("hostname"):
        socket.sethostname(spec["hostname"])
    os.chroot(spec["root"])
    os.chdir(spec["workdir"])
    os.setgroups([spec["gid"]])
    os.setgid(spec["gid"])
    os.setuid(spec["uid"])
    os.umask(0o022)
    argv = spec["argv"]
    try:
        os.execvpe(argv[0], argv, spec["env"])
    except OSError as e:
        sys.stderr.write(f"exec {argv[0]}: {e}\n")
        sys.exit(127)


# ------------------------------------------------------------------------------------------
# Base images
# ------------------------------------------------------------------------------------------

def apt_mirrors():
    """The Debian and Debian security mirrors apt uses on this machine."""
    main, security = None, None
    texts = []
    for path in ["/etc/apt/sources.list"] + sorted(
            os.path.join("/etc/apt/sources.list.d", f)
            for f in (os.listdir("/etc/apt/sources.list.d")
                      if os.path.isdir("/etc/apt/sources.list.d") else [])):
        if os.path.isfile(path) and (path.endswith(".list") or path.endswith(".sources")):
            with open(path) as f:
                texts.append((path, f.read()))
    for path, text in texts:
        if path.endswith(".sources"):
            for stanza in re.split(r"\n\s*\n", text):
                fields = {}
                for line in stanza.splitlines():
                    if ":" in line and not line.startswith("#"):
                        k, _, v = line.partition(":")
                        fields[k.strip().lower()] = v.split()
                uris, suites = fields.get("uris", []), fields.get("suites", [])
                if "main" not in fields.get("components", []) or not uris:
                    continue
                if "bookworm" in suites and not main:
                    main = uris[0]
                if "bookworm-security" in suites and not security:
                    security = uris[0]
        else:
            for line in text.splitlines():
                m = re.match(r"^deb\s+(?:\[[^]]*\]\s+)?(\S+)\s+(\S+)\s+(.*)$", line.strip())
                if m and "main" in m.group(3).split():
                    if m.group(2) == "bookworm" and not main:
                        main = m.group(1)
                    if m.group(2) == "bookworm-security" and not security:
                        security = m.group(1)
    main = os.environ.get("WSGATE_DOCKER_MIRROR") or main or "http://deb.debian.org/debian"
    security = os.environ.get("WSGATE_DOCKER_SECURITY_MIRROR") or security or \
        "http://deb.debian.org/debian-security"
    return main.rstrip("/"), security.rstrip("/")


# debian:<suite>-slim drops documentation, man pages and translations (as Debian's official
# images do with the same dpkg path-excludes).
SLIM_EXCLUDES = """path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/groff/*
path-exclude /usr/share/info/*
path-exclude /usr/share/linda/*
path-exclude /usr/share/lintian/*
path-exclude /usr/share/locale/*
path-exclude /usr/share/man/*
"""


# The apt settings of Debian's official images, but for the lines that delete downloaded
# packages after each install: here those live outside the image, in the check's cache.
APT_TWEAKS = {
    "docker-clean": 'Dir::Cache::pkgcache "";\nDir::Cache::srcpkgcache "";\n',
    "docker-autoremove-suggests": 'Apt::AutoRemove::SuggestsImportant "false";\n',
    "docker-gzip-indexes": 'Acquire::GzipIndexes "true";\n',
    "docker-no-languages": 'Acquire::Languages "none";\n',
}


def base_flavour(ref):
    m = re.fullmatch(r"(?:docker\.io/)?(?:library/)?debian:(bookworm|12)(-slim)?", ref)
    if not m:
        raise BuildError(f"FROM {ref}: this check has a local equivalent only for "
                         "debian:bookworm and debian:bookworm-slim")
    return "slim" if m.group(2) else "full"


class Bases:
    def __init__(self, cache, pull):
        self.dir = os.path.join(cache, "base")
        self.debs = os.path.join(cache, "debs")
        self.pull = pull
        os.makedirs(self.dir, exist_ok=True)
        os.makedirs(self.debs, exist_ok=True)
        self.tar = os.path.join(self.dir, "bookworm-minbase.tar")
        self.id_file = self.tar + ".id"

    def ensure(self):
        """The pristine Debian 12 minbase root as a tarball: made once, reused for a week."""
        mirror, security = apt_mirrors()
        want = f"bookworm minbase recipe {BASE_RECIPE} {mirror} {security}"
        if os.path.exists(self.id_file) and os.path.exists(self.tar) and not self.pull:
            with open(self.id_file) as f:
                ident = f.read().strip()
            made = os.path.getmtime(self.tar)
            age_days = (time.time() - made) / 86400
            if ident.startswith(want + " ") and age_days < BASE_MAX_AGE_DAYS:
                say(f"base: cached {self.tar} ({ident}, {age_days:.1f} days old)")
                return ident
        say(f"base: debootstrap --variant=minbase bookworm from {mirror}")
        tmp = tempfile.mkdtemp(prefix="base.", dir=self.dir)
        try:
            root = os.path.join(tmp, "root")
            # why unshare: debootstrap mounts /proc and /sys in the new root; in a private
            # mount namespace they go away with it, even if it is killed half-way.
            subprocess.run(["unshare", "--mount", "--propagation", "private", "--",
                            "debootstrap", "--variant=minbase", f"--cache-dir={self.debs}",
                            "bookworm", root, mirror], check=True)
            # As in Debian's official images: deb822 sources with updates and security, no
            # package lists or archives, no host files.
            os.remove(os.path.join(root, "etc/apt/sources.list"))
            with open(os.path.join(root, "etc/apt/sources.list.d/debian.sources"), "w") as f:
                f.write(f"Types: deb\nURIs: {mirror}\nSuites: bookworm bookworm-updates\n"
                        "Components: main\n"
                        "Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg\n\n"
                        f"Types: deb\nURIs: {security}\nSuites: bookworm-security\n"
                        "Components: main\n"
                        "Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg\n")
            subprocess.run(["rm", "-rf", "--one-file-system", os.path.join(root, "var/lib/apt/lists"),
                            os.path.join(root, "var/cache/apt/archives")], check=True)
            os.makedirs(os.path.join(root, "var/lib/apt/lists/partial"))
            os.makedirs(os.path.join(root, "var/cache/apt/archives/partial"))
            for f in ("etc/resolv.conf", "etc/hostname"):
                with open(os.path.join(root, f), "w"):
                    pass
            for name, text in APT_TWEAKS.items():
                with open(os.path.join(root, "etc/apt/apt.conf.d", name), "w") as f:
                    f.write(text)
            subprocess.run(["tar", "-C", root, "--numeric-owner", "--xattrs",
                            "--xattrs-include=*", "-cpf", self.tar + ".tmp", "."], check=True)
            os.replace(self.tar + ".tmp", self.tar)
            ident = f"{want} {datetime.datetime.now(datetime.timezone.utc).isoformat()}"
            with open(self.id_file, "w") as f:
                f.write(ident + "\n")
            return ident
        finally:
            remove_tree(tmp)

    def extract(self, flavour, root):
        os.makedirs(root)
        subprocess.run(["tar", "-C", root, "--numeric-owner", "--xattrs", "--xattrs-include=*",
                        "-xpf", self.tar], check=True)
        if flavour == "slim":
            with open(os.path.join(root, "etc/dpkg/dpkg.cfg.d/docker"), "w") as f:
                f.write(SLIM_EXCLUDES)
            for d in ("usr/share/doc", "usr/share/groff", "usr/share/info", "usr/share/linda",
                      "usr/share/lintian", "usr/share/locale", "usr/share/man"):
                p = os.path.join(root, d)
                if not os.path.isdir(p):
                    continue
                for entry in os.listdir(p):
                    e = os.path.join(p, entry)
                    if d == "usr/share/doc" and os.path.isdir(e) and not os.path.islink(e):
                        for x in os.listdir(e):  # keep only the copyright files
                            if x != "copyright":
                                remove_tree(os.path.join(e, x))
                    else:
                        remove_tree(e)


def remove_tree(path):
    if not os.path.lexists(path):
        return
    # why --one-file-system: should anything still be mounted under a root (it cannot be,
    # the mounts live in private namespaces), rm must not walk into the host's /dev or /proc.
    subprocess.run(["rm", "-rf", "--one-file-system", path], check=True)


def mounts_under(path):
    path = os.path.realpath(path)
    found = []
    with open("/proc/self/mountinfo") as f:
        for line in f:
            mp = line.split()[4].replace("\\040", " ")
            if mp == path or mp.startswith(path + "/"):
                found.append(mp)
    return found


# ------------------------------------------------------------------------------------------
# The build
# ------------------------------------------------------------------------------------------

class StageState:
    def __init__(self, stage, root):
        self.stage = stage
        self.root = root
        self.env = {"PATH": DEFAULT_PATH}  # what debian:bookworm sets
        self.args = {}
        self.workdir = "/"
        self.user = ""
        self.shell = ["/bin/sh", "-c"]
        self.entrypoint = None
        self.cmd = ["bash"]  # debian:bookworm's CMD
        self.exposed = []
        self.healthcheck = None
        self.stopsignal = "SIGTERM"
        self.labels = {}
        self.key = ""

    def clone(self, root):
        """The same configuration over another root (FROM <stage>, and the key pre-pass)."""
        other = StageState(self.stage, root)
        for k, v in self.__dict__.items():
            if k not in ("stage", "root"):
                setattr(other, k, copy.deepcopy(v))
        return other

    def vars(self):
        v = dict(self.args)
        v.update(self.env)
        return v

    def config(self):
        return {"Env": self.env, "WorkingDir": self.workdir, "User": self.user,
                "Entrypoint": self.entrypoint, "Cmd": self.cmd, "ExposedPorts": self.exposed,
                "Healthcheck": self.healthcheck, "StopSignal": self.stopsignal,
                "Labels": self.labels}


def sha(*parts):
    h = hashlib.sha256()
    for p in parts:
        h.update(p.encode() if isinstance(p, str) else p)
        h.update(b"\0")
    return h.hexdigest()


class Builder:
    def __init__(self, context, dockerfile, cache, work, use_cache, build_args, pull):
        self.context = os.path.realpath(context)
        self.dockerfile = dockerfile
        self.cache = cache
        self.work = work
        self.use_cache = use_cache
        self.build_args = build_args
        self.bases = Bases(cache, pull)
        self.layers = os.path.join(cache, "layers")
        self.used_layers = set()
        self.done = {}  # stage label or index -> StageState
        self.apt_archives = os.path.join(cache, "apt-archives")
        os.makedirs(self.layers, exist_ok=True)
        os.makedirs(os.path.join(self.apt_archives, "partial"), exist_ok=True)
        ignore_file = dockerfile + ".dockerignore"
        if not os.path.exists(ignore_file):
            ignore_file = os.path.join(self.context, ".dockerignore")
        text = ""
        if os.path.exists(ignore_file):
            with open(ignore_file) as f:
                text = f.read()
            say(f"context: {self.context}, ignore file {os.path.relpath(ignore_file, self.context)}")
        self.ignore = DockerIgnore(text)
        self.spec_n = 0

    # -- one command in a root, in fresh namespaces -------------------------------------------
    def run_in(self, st, argv, env, what):
        uid, gid, home = lookup_user(st.root, substitute(st.user, st.vars()) or "root")
        env = dict(env)
        env.setdefault("HOME", home)
        host_files = self._host_files()
        spec = {"root": st.root, "argv": argv, "env": env, "workdir": st.workdir, "uid": uid,
                "gid": gid, "setup": True, "files": host_files,
                # why: downloaded packages survive between runs of this check (they are not
                # part of any layer: the mount hides the image's own archive directory).
                "cache_mounts": [(self.apt_archives, "/var/cache/apt/archives")] +
                self._cache_mounts(st, what),
                "hostname": "buildkitsandbox"}
        path = self._spec(spec)
        cmd = ["unshare", "--mount", "--propagation", "private", "--pid", "--ipc", "--uts",
               "--fork", "--kill-child", "--", sys.executable, os.path.abspath(__file__),
               "--exec-spec", path]
        rc = subprocess.run(cmd).returncode
        if rc != 0:
            raise BuildError(f"line {what.lineno}: {what.cmd} {what.args[:200]} "
                             f"returned a non-zero code: {rc}")

    def _cache_mounts(self, st, ins):
        out = []
        mount = ins.flags.get("mount") if isinstance(ins, Instruction) else None
        if not mount:
            return out
        opts = dict(o.partition("=")[::2] for o in mount.split(","))
        if opts.get("type") != "cache" or "target" not in opts:
            raise BuildError(f"line {ins.lineno}: only RUN --mount=type=cache,target=... is "
                             "supported by this check")
        d = os.path.join(self.cache, "mounts", sha(opts.get("id", opts["target"]))[:16])
        os.makedirs(d, exist_ok=True)
        out.append((d, opts["target"]))
        return out

    def _host_files(self):
        # Copies, so that a RUN that writes /etc/hosts does not write the host's.
        d = os.path.join(self.work, "etc")
        if not os.path.isdir(d):
            os.makedirs(d)
            for f in ("resolv.conf", "hosts"):
                shutil.copyfile(f"/etc/{f}", os.path.join(d, f))
        return [(os.path.join(d, f), f"/etc/{f}") for f in ("resolv.conf", "hosts")]

    def _spec(self, spec):
        self.spec_n += 1
        path = os.path.join(self.work, f"spec-{self.spec_n}.json")
        with open(path, "w") as f:
            json.dump(spec, f)
        return path

    # -- layer cache ----------------------------------------------------------------------------
    def _layer(self, key):
        return os.path.join(self.layers, key + ".tar")

    def _save_layer(self, st):
        if not self.use_cache:
            return
        path = self._layer(st.key)
        subprocess.run(["tar", "-C", st.root, "--numeric-owner", "--xattrs", "--xattrs-include=*",
                        "-cpf", path + ".tmp", "."], check=True)
        os.replace(path + ".tmp", path)
        self.used_layers.add(path)

    def prune_layers(self):
        if not self.use_cache:
            return
        for f in os.listdir(self.layers):
            p = os.path.join(self.layers, f)
            if p not in self.used_layers:
                os.remove(p)

    # -- COPY -----------------------------------------------------------------------------------
    def _copy_sources(self, st, ins):
        """[(host path, path shown in messages, is from context)] and the destination."""
        words = ins.exec_form or shlex.split(ins.args)
        words = [substitute(w, st.vars()) for w in words]
        if len(words) < 2:
            raise BuildError(f"line {ins.lineno}: {ins.cmd} needs a source and a destination")
        srcs, dest = words[:-1], words[-1]
        src_stage = ins.flags.get("from")
        out = []
        for s in srcs:
            if src_stage is not None:
                other = self.done.get(src_stage.lower())
                if other is None:
                    raise BuildError(f"line {ins.lineno}: --from={src_stage}: no such stage "
                                     "before this one (copying from images is not supported)")
                host = in_root(other.root, s)
                if not os.path.lexists(host):
                    raise BuildError(f"line {ins.lineno}: {s} not found in stage {src_stage}")
                out.append((host, s, None))
                continue
            if re.match(r"^[a-z]+://", s):
                raise BuildError(f"line {ins.lineno}: {ins.cmd} from a URL is not supported")
            rel = os.path.normpath(s).lstrip("/")
            if rel.startswith(".."):
                raise BuildError(f"line {ins.lineno}: {s} is outside the build context")
            matches = sorted(glob.glob(os.path.join(self.context, rel))) if rel != "." else [
                self.context]
            matches = [m for m in matches
                       if m == self.context or not self.ignore.excluded(
                           os.path.relpath(m, self.context))]
            if not matches:
                raise BuildError(f"line {ins.lineno}: failed to compute cache key: \"/{rel}\": "
                                 "not found (missing, or excluded by the ignore file)")
            out.extend((m, os.path.relpath(m, self.context), True) for m in matches)
        if len(out) > 1 and not dest.endswith("/"):
            raise BuildError(f"line {ins.lineno}: with more than one source file, the "
                             "destination must be a directory and end with a /")
        return out, dest

    def _walk(self, host, from_context):
        """(relative path, host path) of everything under host that is copied."""
        if not os.path.isdir(host) or os.path.islink(host):
            yield "", host
            return
        for dirpath, dirnames, filenames in os.walk(host):
            dirnames.sort()
            keep = []
            for d in dirnames:
                full = os.path.join(dirpath, d)
                if from_context and self.ignore.excluded(os.path.relpath(full, self.context)):
                    continue
                keep.append(d)
                if os.path.islink(full):
                    yield os.path.relpath(full, host), full
            dirnames[:] = [d for d in keep if not os.path.islink(os.path.join(dirpath, d))]
            for d in dirnames:
                full = os.path.join(dirpath, d)
                yield os.path.relpath(full, host), full
            for fn in sorted(filenames):
                full = os.path.join(dirpath, fn)
                if from_context and self.ignore.excluded(os.path.relpath(full, self.context)):
                    continue
                yield os.path.relpath(full, host), full

    def copy_key(self, st, ins):
        sources, dest = self._copy_sources(st, ins)
        h = hashlib.sha256()
        for host, shown, from_context in sources:
            if not from_context:
                h.update(f"stage {self.done[ins.flags['from'].lower()].key} {shown}\0".encode())
                continue
            for rel, full in self._walk(host, True):
                stt = os.lstat(full)
                h.update(f"{shown}/{rel} {stt.st_mode:o}\0".encode())
                if os.path.islink(full):
                    h.update(os.readlink(full).encode())
                elif os.path.isfile(full):
                    with open(full, "rb") as f:
                        h.update(hashlib.sha256(f.read()).digest())
        return h.hexdigest()

    def do_copy(self, st, ins):
        sources, dest = self._copy_sources(st, ins)
        if set(ins.flags) - {"from", "chown", "chmod", "link"}:
            raise BuildError(f"line {ins.lineno}: unsupported {ins.cmd} flags {ins.flags}")
        uid = gid = 0
        if "chown" in ins.flags:
            uid, gid, _ = lookup_user(st.root, substitute(ins.flags["chown"], st.vars()))
        chmod = int(ins.flags["chmod"], 8) if "chmod" in ins.flags else None
        if not dest.startswith("/"):
            dest = os.path.join(st.workdir, dest)
        to_dir = dest.endswith("/") or len(sources) > 1
        for host, shown, from_context in sources:
            if os.path.isdir(host):
                target_dir = makedirs_in_root(st.root, dest)
                for rel, full in self._walk(host, bool(from_context)):
                    if rel:
                        self._copy_one(st.root, full, os.path.join(
                            dest, rel), uid, gid, chmod)
                if "chown" in ins.flags:
                    os.chown(target_dir, uid, gid)
            else:
                inside = dest
                if to_dir or os.path.isdir(in_root(st.root, dest)):
                    inside = os.path.join(dest, os.path.basename(host))
                makedirs_in_root(st.root, os.path.dirname(inside))
                self._copy_one(st.root, os.path.realpath(host), inside, uid, gid, chmod)

    @staticmethod
    def _copy_one(root, src, dest_in_root, uid, gid, chmod):
        parent = in_root(root, os.path.dirname(dest_in_root))
        target = os.path.join(parent, os.path.basename(dest_in_root))
        stt = os.lstat(src)
        if os.path.islink(src):
            if os.path.lexists(target):
                os.remove(target)
            os.symlink(os.readlink(src), target)
            os.lchown(target, uid, gid)
            return
        if os.path.isdir(src):
            if not os.path.isdir(target):
                os.mkdir(target)
            os.chmod(target, chmod if chmod is not None else stt.st_mode & 0o7777)
        else:
            if os.path.lexists(target) and not os.path.isfile(target):
                remove_tree(target)
            shutil.copyfile(src, target)
            os.chmod(target, chmod if chmod is not None else stt.st_mode & 0o7777)
        os.chown(target, uid, gid)

    # -- instructions ---------------------------------------------------------------------------
    def config_step(self, st, ins):
        """The instructions that change only the image's configuration (and WORKDIR's
        directory); they are applied again when a later layer comes from the cache."""
        v = st.vars()
        c = ins.cmd
        if c == "ARG":
            for k, val in (parse_key_values(ins.args, v) if "=" in ins.args
                           else [(ins.args.strip(), None)]):
                st.args[k] = self.build_args.get(k, val if val is not None else
                                                 self.global_args.get(k, ""))
        elif c == "ENV":
            for k, val in parse_key_values(ins.args, v):
                st.env[k] = val
        elif c == "LABEL":
            st.labels.update(parse_key_values(ins.args, v))
        elif c == "WORKDIR":
            st.workdir = os.path.normpath(os.path.join(st.workdir, substitute(ins.args, v)))
        elif c == "USER":
            st.user = substitute(ins.args.strip(), v)
        elif c == "SHELL":
            if not ins.exec_form:
                raise BuildError(f"line {ins.lineno}: SHELL must be a JSON array")
            st.shell = ins.exec_form
        elif c == "EXPOSE":
            for p in substitute(ins.args, v).split():
                port, _, proto = p.partition("/")
                st.exposed.append((int(port), proto or "tcp"))
        elif c in ("ENTRYPOINT", "CMD"):
            val = ins.exec_form if ins.exec_form is not None else st.shell + [ins.args]
            if c == "ENTRYPOINT":
                st.entrypoint = val
                st.cmd = None  # docker resets the base image's CMD when ENTRYPOINT is set
            else:
                st.cmd = val
        elif c == "HEALTHCHECK":
            if ins.args.strip().upper() == "NONE":
                st.healthcheck = None
                return
            m = re.match(r"^CMD\s+(.*)$", ins.args, re.S)
            if not m:
                raise BuildError(f"line {ins.lineno}: HEALTHCHECK needs CMD or NONE")
            rest = m.group(1)
            try:
                test = json.loads(rest) if rest.startswith("[") else None
            except ValueError:
                test = None
            known = {"interval", "timeout", "start-period", "start-interval", "retries"}
            if set(ins.flags) - known:
                raise BuildError(f"line {ins.lineno}: unknown HEALTHCHECK flags {ins.flags}")
            st.healthcheck = {
                "test": test if test is not None else st.shell + [rest],
                "interval": parse_duration(ins.flags.get("interval", "30s")),
                "timeout": parse_duration(ins.flags.get("timeout", "30s")),
                "retries": int(ins.flags.get("retries", "3"))}
        elif c == "STOPSIGNAL":
            st.stopsignal = substitute(ins.args.strip(), v)
            self._signal(st.stopsignal, ins)
        elif c in ("VOLUME", "MAINTAINER"):
            pass  # nothing for a build
        else:
            return False
        return True

    @staticmethod
    def _signal(name, ins=None):
        n = name.upper()
        if n.isdigit():
            return int(n)
        if not n.startswith("SIG"):
            n = "SIG" + n
        if not hasattr(signal, n):
            raise BuildError(f"line {ins.lineno if ins else '?'}: unknown signal {name}")
        return getattr(signal, n)

    def build_stage(self, stage):
        root = os.path.join(self.work, f"stage-{stage.index}")
        base = stage.base.lower()
        if base in self.done:
            parent = self.done[base]
            st = parent.clone(root)
            st.stage = stage
            base_key = parent.key
            make_root = lambda: subprocess.run(["cp", "-a", parent.root, root], check=True)
        else:
            flavour = base_flavour(stage.base)
            st = StageState(stage, root)
            base_key = sha(self.base_ident, flavour)
            make_root = lambda: self.bases.extract(flavour, root)
        # Every instruction's cache key, before anything runs (as docker computes them).
        keys = []
        key = base_key
        probe = st.clone(root)
        for ins in stage.instructions:
            extra = ""
            if ins.cmd in ("COPY", "ADD"):
                extra = self.copy_key(probe, ins)
            elif ins.cmd == "RUN":
                extra = json.dumps([probe.args, probe.env, probe.user, probe.workdir, probe.shell],
                                   sort_keys=True)
            else:
                self.config_step(probe, ins)
            key = sha(key, ins.text(), extra)
            keys.append(key)
        resume = -1
        if self.use_cache:
            for i, ins in enumerate(stage.instructions):
                if ins.cmd == "RUN" and os.path.exists(self._layer(keys[i])):
                    resume = i
        n = len(stage.instructions) + 1
        t0 = time.monotonic()
        if resume >= 0:
            os.makedirs(root)
            subprocess.run(["tar", "-C", root, "--numeric-owner", "--xattrs",
                            "--xattrs-include=*", "-xpf", self._layer(keys[resume])], check=True)
            self.used_layers.add(self._layer(keys[resume]))
        else:
            make_root()
        say(f"[{stage.label} 1/{n}] FROM {stage.base}  ({time.monotonic() - t0:.1f} s)")
        st.key = base_key
        for i, ins in enumerate(stage.instructions):
            step = f"[{stage.label} {i + 2}/{n}] {ins.cmd} {ins.args}"
            if len(step) > 110:
                step = step[:107] + "..."
            t0 = time.monotonic()
            if i <= resume:
                if ins.cmd in ("RUN", "COPY", "ADD"):
                    # Earlier layers stay too: the next change may start from one of them.
                    if ins.cmd == "RUN" and os.path.exists(self._layer(keys[i])):
                        self.used_layers.add(self._layer(keys[i]))
                    say(f"{step}  CACHED")
                else:
                    self.config_step(st, ins)
                st.key = keys[i]
                continue
            say(step)
            if ins.cmd in ("COPY", "ADD"):
                if ins.cmd == "ADD" and re.search(r"\.(tar|tgz|tar\.\w+)(\s|$)", ins.args):
                    raise BuildError(f"line {ins.lineno}: ADD of an archive is not supported")
                self.do_copy(st, ins)
            elif ins.cmd == "RUN":
                if set(ins.flags) - {"mount", "network"}:
                    raise BuildError(f"line {ins.lineno}: unsupported RUN flags {ins.flags}")
                makedirs_in_root(st.root, st.workdir)
                argv = ins.exec_form if ins.exec_form is not None else st.shell + [ins.args]
                env = dict(st.args)
                env.update(st.env)
                self.run_in(st, argv, env, ins)
            else:
                self.config_step(st, ins)
                if ins.cmd == "WORKDIR":
                    makedirs_in_root(st.root, st.workdir)
            st.key = keys[i]
            if ins.cmd == "RUN":
                self._save_layer(st)
            took = time.monotonic() - t0
            if ins.cmd in ("RUN", "COPY", "ADD") or took > 1:
                say(f"[{stage.label} {i + 2}/{n}] done in {took:.1f} s")
        return st

    def build(self):
        with open(self.dockerfile) as f:
            instructions = parse_dockerfile(f.read())
        self.global_args, stages = split_stages(instructions, self.build_args)
        t0 = time.monotonic()
        needs_base = any(s.base.lower() not in {x.name for x in stages if x.name} for s in stages)
        self.base_ident = self.bases.ensure() if needs_base else ""
        say(f"=== part: base image ready in {time.monotonic() - t0:.1f} s")
        # Only the stages the last one needs, as BuildKit does.
        needed = {stages[-1].index}
        for s in reversed(stages):
            if s.index not in needed:
                continue
            for ins in s.instructions:
                if ins.cmd in ("COPY", "ADD") and "from" in ins.flags:
                    ref = ins.flags["from"].lower()
                    needed |= {x.index for x in stages if x.name == ref or str(x.index) == ref}
            needed |= {x.index for x in stages if x.name == s.base.lower()}
        for s in stages:
            if s.index not in needed:
                say(f"stage {s.label}: not needed by the image, skipped")
                continue
            t0 = time.monotonic()
            st = self.build_stage(s)
            self.done[str(s.index)] = st
            if s.name:
                self.done[s.name] = st
            say(f"=== part: stage {s.label} built in {time.monotonic() - t0:.1f} s")
        self.prune_layers()
        return st


# ------------------------------------------------------------------------------------------
# The image: what it holds, and running it
# ------------------------------------------------------------------------------------------

def check_image(st):
    """The runtime image must run as a non-root user and hold runtime libraries only."""
    cfg = st.config()
    problems = []
    uid, gid, _ = lookup_user(st.root, st.user or "root")
    if uid == 0:
        problems.append(f"the image runs as root (USER {st.user or 'not set'})")
    pkgs = subprocess.run(["dpkg-query", f"--admindir={os.path.join(st.root, 'var/lib/dpkg')}",
                           "-W", "-f", "${Package}\t${db:Status-Abbrev}\n"],
                          check=True, capture_output=True, text=True).stdout.split("\n")
    installed = sorted(p.split("\t")[0] for p in pkgs if p.endswith("ii "))
    build_tools = [p for p in installed if p.endswith("-dev") or p in (
        "gcc", "g++", "cpp", "make", "cmake", "ninja-build", "build-essential", "binutils")
        or re.fullmatch(r"(gcc|g\+\+|cpp)-\d+", p)]
    if build_tools:
        problems.append("build tools or development packages in the runtime image: " +
                        " ".join(build_tools))
    size = subprocess.run(["du", "-sm", "--one-file-system", st.root], check=True,
                          capture_output=True, text=True).stdout.split()[0]
    say(f"image: {size} MB, {len(installed)} packages, user {st.user} ({uid}:{gid}), "
        f"entrypoint {cfg['Entrypoint']}, cmd {cfg['Cmd']}, exposed "
        f"{' '.join(f'{p}/{proto}' for p, proto in st.exposed) or 'nothing'}")
    say("image env: " + " ".join(f"{k}={v}" for k, v in st.env.items()))
    if not cfg["Entrypoint"] and not cfg["Cmd"]:
        problems.append("no ENTRYPOINT or CMD")
    if problems:
        raise BuildError("; ".join(problems))


def children_of(pid):
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as f:
            return [int(x) for x in f.read().split()]
    except FileNotFoundError:
        return []


def probe_http(port, paths, deadline_s):
    """Runs inside the container's network namespace (nsenter): waits for the port, then
    asks each path over loopback; 0 when every one answered 200."""
    end = time.monotonic() + deadline_s
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError as e:
            if time.monotonic() > end:
                print(f"probe: nothing listens on 127.0.0.1:{port} ({e})", flush=True)
                return 1
            time.sleep(0.1)
    bad = 0
    for path in paths:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
        try:
            conn.request("GET", path)
            r = conn.getresponse()
            body = r.read(200).decode(errors="replace").strip()
            print(f"probe: GET http://127.0.0.1:{port}{path} -> {r.status} {body}", flush=True)
            bad += r.status != 200
        except OSError as e:
            print(f"probe: GET {path}: {e}", flush=True)
            bad += 1
        finally:
            conn.close()
    return 1 if bad else 0


def run_container(st, work, probes, start_timeout):
    """docker run: ENTRYPOINT + CMD as the image's user, in fresh namespaces with their own
    loopback; probe each exposed TCP port; run the image's HEALTHCHECK inside it like docker
    does; then stop it with its STOPSIGNAL and expect a clean exit."""
    cfg = st.config()
    argv = (cfg["Entrypoint"] or []) + (cfg["Cmd"] or [])
    uid, gid, home = lookup_user(st.root, st.user or "root")
    env = dict(st.env)
    env.setdefault("HOME", home)
    env.setdefault("HOSTNAME", "wsgate-check")
    d = os.path.join(work, "run-etc")
    os.makedirs(d)
    with open(os.path.join(d, "hosts"), "w") as f:
        f.write("127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n"
                "127.0.1.1\twsgate-check\n")
    with open(os.path.join(d, "hostname"), "w") as f:
        f.write("wsgate-check\n")
    spec = {"root": st.root, "argv": argv, "env": env, "workdir": st.workdir, "uid": uid,
            "gid": gid, "setup": True, "loopback": True, "hostname": "wsgate-check",
            "files": [(os.path.join(d, "hosts"), "/etc/hosts"),
                      (os.path.join(d, "hostname"), "/etc/hostname")]}
    spec_path = os.path.join(work, "container.json")
    with open(spec_path, "w") as f:
        json.dump(spec, f)
    log_path = os.path.join(work, "container.log")
    log = open(log_path, "wb")
    say(f"run: {shlex.join(argv)} as {st.user} ({uid}:{gid}) in its own network namespace")
    proc = subprocess.Popen(["unshare", "--mount", "--propagation", "private", "--pid", "--ipc",
                             "--uts", "--net", "--fork", "--kill-child", "--", sys.executable,
                             os.path.abspath(__file__), "--exec-spec", spec_path],
                            stdout=log, stderr=subprocess.STDOUT, start_new_session=True)

    def show_log(lines=None):
        with open(log_path, errors="replace") as f:
            text = f.read().splitlines()
        for line in text[-lines:] if lines else text:
            say(f"  | {line}")

    try:
        t0 = time.monotonic()
        container_pid = None
        while container_pid is None and time.monotonic() - t0 < 10:
            if proc.poll() is not None:
                break
            kids = children_of(proc.pid)
            container_pid = kids[0] if kids else None
            time.sleep(0.05)
        ports = [p for p, proto in st.exposed if proto == "tcp"]
        if not ports:
            raise BuildError("the image exposes no TCP port to probe")
        for port in ports:
            probe = subprocess.Popen(["nsenter", f"--target={proc.pid}", "--net", "--",
                                      sys.executable, os.path.abspath(__file__), "--probe-inside",
                                      str(port), str(start_timeout)] + probes)
            while probe.poll() is None:
                if proc.poll() is not None:
                    probe.kill()
                    probe.wait()
                    show_log()
                    raise BuildError(f"the container exited with {proc.returncode} before "
                                     "answering")
                time.sleep(0.1)
            if probe.returncode != 0:
                show_log()
                raise BuildError(f"the container did not answer {' '.join(probes)} on port "
                                 f"{port} with 200")
        say(f"run: answered in {time.monotonic() - t0:.1f} s after start")
        hc = cfg["Healthcheck"]
        if hc:
            hspec = dict(spec, argv=hc["test"], setup=False, loopback=False, hostname=None)
            hspec_path = os.path.join(work, "healthcheck.json")
            with open(hspec_path, "w") as f:
                json.dump(hspec, f)
            for attempt in range(1, hc["retries"] + 1):
                try:
                    # docker exec: into the container's mount, network and PID namespaces.
                    rc = subprocess.run(["nsenter", f"--target={container_pid}", "--mount",
                                         "--net", "--pid", "--", sys.executable,
                                         os.path.abspath(__file__), "--exec-spec", hspec_path],
                                        timeout=hc["timeout"]).returncode
                except subprocess.TimeoutExpired:
                    rc = "timeout"
                say(f"healthcheck: {shlex.join(hc['test'])[:100]}... -> {rc} (attempt {attempt})")
                if rc == 0:
                    break
                time.sleep(min(hc["interval"], 1))
            else:
                show_log()
                raise BuildError("the image's HEALTHCHECK does not pass")
        sig = Builder._signal(cfg["StopSignal"])
        t1 = time.monotonic()
        os.kill(container_pid, sig)
        try:
            rc = proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            show_log()
            raise BuildError(f"the container did not stop within 15 s of {cfg['StopSignal']}")
        say(f"stop: {cfg['StopSignal']} -> exit status {rc} in {time.monotonic() - t1:.1f} s")
        show_log(12)
        if rc != 0:
            raise BuildError(f"the container exited with {rc} on {cfg['StopSignal']}")
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)  # --kill-child takes the container with it
            proc.wait()
        log.close()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("context", nargs="?", default=".")
    ap.add_argument("-f", "--file", default=None, help="the Dockerfile (default: context/Dockerfile)")
    ap.add_argument("--cache", default=os.path.join(
        os.environ.get("XDG_CACHE_HOME", os.path.expanduser("~/.cache")), "wsgate-docker-check"))
    ap.add_argument("--no-cache", action="store_true",
                    help="run every step (the base root and downloaded packages are still reused)")
    ap.add_argument("--pull", action="store_true", help="make the base root anew")
    ap.add_argument("--build-arg", action="append", default=[])
    ap.add_argument("--probe", action="append", default=None,
                    help="HTTP path that must answer 200 (default /healthz and /readyz)")
    ap.add_argument("--start-timeout", type=float, default=20)
    ap.add_argument("--keep", action="store_true", help="keep the roots (printed) afterwards")
    if len(sys.argv) > 1 and sys.argv[1] == "--exec-spec":
        with open(sys.argv[2]) as f:
            exec_in_root(json.load(f))
        return 0
    if len(sys.argv) > 1 and sys.argv[1] == "--probe-inside":
        return probe_http(int(sys.argv[2]), sys.argv[4:], float(sys.argv[3]))
    a = ap.parse_args()
    if os.geteuid() != 0:
        raise SystemExit("docker-chroot.py needs root (chroot, namespaces, debootstrap)")
    dockerfile = os.path.abspath(a.file or os.path.join(a.context, "Dockerfile"))
    build_args = dict(x.partition("=")[::2] for x in a.build_arg)
    os.makedirs(a.cache, exist_ok=True)
    work = tempfile.mkdtemp(prefix="wsgate-docker-check.", dir=os.environ.get("TMPDIR", "/var/tmp"))
    say(f"work directory {work}, cache {a.cache}{' (layers not used: --no-cache)' if a.no_cache else ''}")

    def on_signal(signum, _frame):
        raise SystemExit(128 + signum)

    for s in (signal.SIGTERM, signal.SIGHUP, signal.SIGINT):
        signal.signal(s, on_signal)
    total = time.monotonic()
    try:
        b = Builder(a.context, dockerfile, a.cache, work, not a.no_cache, build_args, a.pull)
        st = b.build()
        t0 = time.monotonic()
        check_image(st)
        say(f"=== part: image checked in {time.monotonic() - t0:.1f} s")
        t0 = time.monotonic()
        run_container(st, work, a.probe or ["/healthz", "/readyz"], a.start_timeout)
        say(f"=== part: container ran and answered in {time.monotonic() - t0:.1f} s")
        say(f"=== docker-chroot: image built and checked in {time.monotonic() - total:.1f} s")
        return 0
    except BuildError as e:
        say(f"=== docker-chroot: FAILED after {time.monotonic() - total:.1f} s: {e}")
        return 1
    finally:
        left = mounts_under(work)
        for mp in reversed(left):  # cannot happen (private namespaces); never rm through one
            subprocess.run(["umount", "-l", mp])
        if a.keep:
            say(f"roots kept under {work}")
        else:
            remove_tree(work)


if __name__ == "__main__":
    sys.exit(main())
