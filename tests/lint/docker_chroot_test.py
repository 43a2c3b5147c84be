#!/usr/bin/env python3
"""ctest docker_chroot (label lint): the Dockerfile reader of scripts/docker-chroot.py, and the
repository's docker/ files read with it: the build packages match scripts/deps.sh, every COPY
source is in the context, and the ports and probes agree with docker-compose.yml and
haproxy.cfg; and shellcheck (no Dockerfile linter is packaged for Debian 12) reads every RUN
command and scripts/docker-check.sh. The build itself is scripts/docker-check.sh (CI stage
"docker image build")."""

import importlib.util
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
import unittest

sys.dont_write_bytecode = True  # no __pycache__ left in scripts/

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
_spec = importlib.util.spec_from_file_location(
    "docker_chroot", os.path.join(REPO, "scripts", "docker-chroot.py"))
dc = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(dc)


def read(rel):
    with open(os.path.join(REPO, rel)) as f:
        return f.read()


class ParserTest(unittest.TestCase):
    def test_joins_continuations_and_skips_comments_inside_them(self):
        ins = dc.parse_dockerfile("# syntax=docker/dockerfile:1\nFROM debian:bookworm AS b\n"
                                  "RUN a \\\n# a comment\n\n && b\nrun c\n")
        self.assertEqual([(i.cmd, i.args) for i in ins],
                         [("FROM", "debian:bookworm AS b"), ("RUN", "a && b"), ("RUN", "c")])
        self.assertEqual(ins[1].lineno, 3)

    def test_flags_and_exec_form(self):
        ins = dc.parse_dockerfile('COPY --from=builder --chown=a:b /x /y\nCMD ["a", "b c"]\n'
                                  "CMD [not json\n")
        self.assertEqual(ins[0].flags, {"from": "builder", "chown": "a:b"})
        self.assertEqual(ins[0].args, "/x /y")
        self.assertEqual(ins[1].exec_form, ["a", "b c"])
        self.assertIsNone(ins[2].exec_form)  # docker runs that as a shell form

    def test_what_it_cannot_do_fails_instead_of_being_skipped(self):
        for text in ("FROM debian:bookworm\nONBUILD RUN x\n", "FROM debian:bookworm\nRUN <<EOF\n",
                     "# escape=`\nFROM debian:bookworm\n"):
            with self.assertRaises(dc.BuildError, msg=text):
                dc.parse_dockerfile(text)
        with self.assertRaises(dc.BuildError):
            dc.base_flavour("alpine:3")
        self.assertEqual(dc.base_flavour("docker.io/library/debian:bookworm-slim"), "slim")

    def test_stages_and_global_args(self):
        ins = dc.parse_dockerfile("ARG SUITE=bookworm\nFROM debian:${SUITE} AS one\nRUN a\n"
                                  "FROM debian:$SUITE-slim\nRUN b\n")
        args, stages = dc.split_stages(ins, {})
        self.assertEqual(args, {"SUITE": "bookworm"})
        self.assertEqual([(s.base, s.name, s.label) for s in stages],
                         [("debian:bookworm", "one", "one"),
                          ("debian:bookworm-slim", None, "stage-1")])
        _, stages = dc.split_stages(ins, {"SUITE": "12"})
        self.assertEqual(stages[0].base, "debian:12")

    def test_substitution(self):
        env = {"A": "x", "E": ""}
        self.assertEqual(dc.substitute("$A/${A}/${B:-d}/${A:+s}/${E:-e}/\\$A", env),
                         "x/x/d/s/e/$A")
        self.assertEqual(dc.parse_key_values('K1=v1 K2="a b" K3=$A', env),
                         [("K1", "v1"), ("K2", "a b"), ("K3", "x")])
        self.assertEqual(dc.parse_key_values("K a b", env), [("K", "a b")])

    def test_durations(self):
        self.assertEqual(dc.parse_duration("1m30s"), 90)
        self.assertEqual(dc.parse_duration("500ms"), 0.5)
        with self.assertRaises(dc.BuildError):
            dc.parse_duration("10")


class IgnoreTest(unittest.TestCase):
    def test_allow_list(self):
        ig = dc.DockerIgnore("*\n!src\n!config/wsgate.json\n")
        self.assertFalse(ig.excluded("src"))
        self.assertFalse(ig.excluded("src/a/b.cpp"))
        self.assertFalse(ig.excluded("config/wsgate.json"))
        self.assertTrue(ig.excluded("config/other.json"))
        self.assertTrue(ig.excluded("examples/chatbot/main.cpp"))

    def test_a_matching_directory_excludes_what_is_under_it(self):
        ig = dc.DockerIgnore("build*\n.git\n**/*.o\n# comment\n")
        self.assertTrue(ig.excluded("build-test/wsgate"))
        self.assertTrue(ig.excluded(".git/HEAD"))
        self.assertTrue(ig.excluded("src/a/b.o"))
        self.assertTrue(ig.excluded("x.o"))
        self.assertFalse(ig.excluded("src/build.cpp"))  # patterns start at the context root


class RootPathTest(unittest.TestCase):
    def test_absolute_symlinks_resolve_inside_the_root(self):
        with tempfile.TemporaryDirectory() as root:
            os.makedirs(os.path.join(root, "usr/bin"))
            os.symlink("/usr/bin", os.path.join(root, "bin"))
            os.symlink("../../etc", os.path.join(root, "usr/bin/up"))
            self.assertEqual(dc.in_root(root, "/bin/sh"), os.path.join(root, "usr/bin/sh"))
            self.assertEqual(dc.in_root(root, "/bin/up/passwd"), os.path.join(root, "etc/passwd"))
            self.assertEqual(dc.in_root(root, "/../../etc"), os.path.join(root, "etc"))

    def test_users_come_from_the_image(self):
        with tempfile.TemporaryDirectory() as root:
            os.makedirs(os.path.join(root, "etc"))
            with open(os.path.join(root, "etc/passwd"), "w") as f:
                f.write("root:x:0:0:root:/root:/bin/sh\nwsgate:x:10001:999::/nonexistent:/x\n")
            with open(os.path.join(root, "etc/group"), "w") as f:
                f.write("root:x:0:\nwsgate:x:999:\n")
            self.assertEqual(dc.lookup_user(root, "wsgate:wsgate"), (10001, 999, "/nonexistent"))
            self.assertEqual(dc.lookup_user(root, "root"), (0, 0, "/root"))
            self.assertEqual(dc.lookup_user(root, "20000:5")[:2], (20000, 5))
            with self.assertRaises(dc.BuildError):
                dc.lookup_user(root, "nobody")


class RepositoryDockerfileTest(unittest.TestCase):
    def setUp(self):
        ins = dc.parse_dockerfile(read("docker/Dockerfile"))
        _, self.stages = dc.split_stages(ins, {})
        self.builder, self.runtime = self.stages[0], self.stages[-1]
        self.ignore = dc.DockerIgnore(read("docker/Dockerfile.dockerignore"))

    def apt_packages(self, stage):
        words = []
        for i in stage.instructions:
            if i.cmd == "RUN" and "apt-get install" in i.args:
                cmd = i.args.split("apt-get install", 1)[1].split("&&")[0]
                words += [w for w in cmd.split() if not w.startswith("-")]
        return set(words)

    def test_builder_installs_what_scripts_deps_sh_lists(self):
        m = re.search(r"^packages=\(\n(.*?)\n\)", read("scripts/deps.sh"), re.S | re.M)
        needed = set(m.group(1).split()) - {"ccache"}  # ccache: a speed-up, not a dependency
        self.assertEqual(needed - self.apt_packages(self.builder), set())

    def test_every_copy_source_is_in_the_context(self):
        for stage in self.stages:
            for i in stage.instructions:
                if i.cmd in ("COPY", "ADD") and "from" not in i.flags:
                    for src in shlex.split(i.args)[:-1]:
                        self.assertTrue(os.path.exists(os.path.join(REPO, src)), src)
                        self.assertFalse(self.ignore.excluded(os.path.normpath(src)),
                                         f"{src} is excluded by docker/Dockerfile.dockerignore")

    def test_runtime_is_non_root_and_ports_agree(self):
        st = dc.StageState(self.runtime, "/nonexistent")
        b = dc.Builder.__new__(dc.Builder)
        b.build_args, b.global_args = {}, {}
        for i in self.runtime.instructions:
            if i.cmd not in ("RUN", "COPY", "ADD"):
                b.config_step(st, i)
        self.assertNotIn(st.user.split(":")[0], ("", "root", "0"))
        self.assertEqual(st.exposed, [(8080, "tcp")])
        self.assertTrue(st.env["WSGATE_SERVER_LISTEN"].endswith(":8080"))
        self.assertIn("/dev/tcp/127.0.0.1/8080", " ".join(st.healthcheck["test"]))
        self.assertIn("GET /healthz ", " ".join(st.healthcheck["test"]))
        self.assertEqual(st.stopsignal, "SIGTERM")
        compose = read("docker/docker-compose.yml")
        self.assertIn('expose:\n    - "8080"', compose)
        self.assertEqual(sorted(re.findall(r"WSGATE\d_ADDR: (wsgate\d):8080", compose)),
                         ["wsgate1", "wsgate2", "wsgate3"])
        self.assertIn("dockerfile: docker/Dockerfile", compose)
        haproxy = read("docker/haproxy.cfg")
        self.assertRegex(haproxy, r"http-check send meth GET uri /readyz ")
        self.assertIn("http-check expect status 200", haproxy)

    @unittest.skipUnless(shutil.which("shellcheck"), "shellcheck is not installed (deps.sh --test)")
    def test_shellcheck_reads_every_run_command_and_the_check_script(self):
        for stage in self.stages:
            for i in stage.instructions:
                if i.cmd == "RUN" and i.exec_form is None:
                    r = subprocess.run(["shellcheck", "--shell=sh", "-"], input=i.args,
                                       capture_output=True, text=True)
                    self.assertEqual(r.returncode, 0, f"line {i.lineno}:\n{r.stdout}")
        r = subprocess.run(["shellcheck", os.path.join(REPO, "scripts/docker-check.sh")],
                           capture_output=True, text=True)
        self.assertEqual(r.returncode, 0, r.stdout)


if __name__ == "__main__":
    unittest.main()
