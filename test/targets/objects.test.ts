// Object naming (paths, PATH, sonames, short names, rpath, container roots), ld.so.cache, and running processes.

import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, realpathSync, rmSync, symlinkSync, unlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { readElf } from "../../src/targets/elf/elf.js";
import { TargetError } from "../../src/targets/errors.js";
import { matchFunctions } from "../../src/targets/functions.js";
import { parseLdCache, readLdCache } from "../../src/targets/ldcache.js";
import { realpathUnder, resolveLibrary, resolveObject } from "../../src/targets/objects.js";
import { findMappedObject, inOtherMountNamespace, loadBias, parseMaps, processExecutable, processMaps, processObjects } from "../../src/targets/proc.js";
import { buildFixture, elfFixtures, fixturesDir } from "../support/build-fixture.js";

const dir = mkdtempSync(join(tmpdir(), "tstap-objects-"));
const children: ChildProcess[] = [];
afterAll(() => {
  for (const c of children) c.kill("SIGKILL");
  rmSync(dir, { recursive: true, force: true });
});

function err(fn: () => unknown): TargetError {
  try {
    fn();
  } catch (e) {
    if (e instanceof TargetError) return e;
    throw e;
  }
  throw new Error("no error");
}

const LIBC_REAL = realpathSync("/lib/x86_64-linux-gnu/libc.so.6");

describe("ld.so.cache", () => {
  it("lists what ldconfig -p lists for x86-64, in order", () => {
    const ours = readLdCache().map((e) => `${e.name} => ${e.path}`);
    const theirs = execFileSync("ldconfig", ["-p"], { encoding: "utf8" })
      .split("\n")
      .map((l) => /^\t(\S+) \(libc6,x86-64[^)]*\) => (.*)$/.exec(l))
      .filter((m) => m !== null)
      .map((m) => `${m![1]} => ${m![2]}`);
    expect(theirs.length).toBeGreaterThan(50);
    expect(ours).toEqual(theirs);
  });

  it("reads the new format behind an old-format (glibc < 2.32) header", () => {
    const real = readFileSync("/etc/ld.so.cache");
    // "ld.so-1.7.0", nlibs = 2 old 12-byte entries, then the new format 8-aligned; its string offsets count from its own start
    const old = Buffer.alloc((16 + 2 * 12 + 7) & ~7);
    old.write("ld.so-1.7.0", 0, "latin1");
    old.writeUInt32LE(2, 12);
    expect(parseLdCache(Buffer.concat([old, real]))).toEqual(parseLdCache(real));
    const noNew = Buffer.from(old);
    expect(err(() => parseLdCache(noNew, "/x")).message).toBe("'/x' is malformed: old-format cache without the new format (glibc older than 2.32 wrote both; tstap reads the new one)");
  });

  it("refuses damaged caches with a message", () => {
    const real = readFileSync("/etc/ld.so.cache");
    expect(err(() => parseLdCache(Buffer.from("garbage"), "/x")).message).toBe("'/x' is malformed: no 'glibc-ld.so.cache1.1' header");
    expect(err(() => parseLdCache(real.subarray(0, 100), "/x")).message).toMatch(/^'\/x' is malformed: \d+ entries do not fit in 100 bytes$/);
    const b = Buffer.from(real);
    b.writeUInt32LE(0x7fffffff, 48 + 4); // first entry's name offset
    expect(err(() => parseLdCache(b, "/x")).message).toBe("'/x' is malformed: string offset 0x7fffffff is outside the file");
  });
});

describe("resolveObject: what process(\"...\") names", () => {
  it("a bare program name is looked up on PATH", () => {
    const r = resolveObject("bash");
    expect(r.path).toBe(realpathSync(execFileSync("sh", ["-c", "command -v bash"], { encoding: "utf8" }).trim()));
    expect([r.kind, r.foundBy]).toEqual(["executable", "PATH"]);
    expect(resolveObject("bash", { pathEnv: "/nonexistent:/usr/bin" }).path).toBe("/usr/bin/bash");
  });

  it("absolute and relative paths, canonicalised", () => {
    const p = elfFixtures.pie();
    const link = join(dir, "link-to-plain");
    symlinkSync(p, link);
    expect(resolveObject(link).path).toBe(p);
    expect(resolveObject("./link-to-plain", { cwd: dir }).path).toBe(p);
    expect(resolveObject(p).foundBy).toBe("path");
  });

  it("libraries by soname and by short name, through the cache", () => {
    expect(resolveObject("libc.so.6")).toMatchObject({ path: LIBC_REAL, kind: "library", foundBy: "ld.so.cache" });
    expect(resolveObject("libc").path).toBe(LIBC_REAL);
    expect(resolveObject("libstdc++").path).toBe(realpathSync("/usr/lib/x86_64-linux-gnu/libstdc++.so.6"));
    expect(resolveLibrary("libpthread.so.0").path).toBe(realpathSync("/lib/x86_64-linux-gnu/libpthread.so.0"));
  });

  it("bad names get clear errors", () => {
    const e = err(() => resolveObject("no-such-program-xyz", { pathEnv: "/usr/bin:/bin" }));
    expect(e.code).toBe("not-found");
    expect(e.message).toBe(
      "cannot find executable or library 'no-such-program-xyz' (searched PATH=/usr/bin:/bin, the dynamic linker's cache and /lib/x86_64-linux-gnu:/usr/lib/x86_64-linux-gnu:/lib64:/usr/lib64:/lib:/usr/lib)",
    );
    expect(err(() => resolveObject("/no/such/file")).message).toBe("cannot find '/no/such/file': No such file or directory");
    expect(err(() => resolveObject("/etc/passwd")).message).toBe("'/etc/passwd' is not an ELF object");
    expect(err(() => resolveObject("/etc")).message).toBe("'/etc' is a directory, not an ELF object");
    const obj = join(dir, "x.o");
    execFileSync("gcc", ["-c", "-o", obj, join(fixturesDir, "elf", "ifunc.c")]);
    expect(err(() => resolveObject(obj)).message).toBe(`'${obj}' is a relocatable object (.o), not an executable or shared library`);
    expect(err(() => resolveLibrary("libnosuchthing.so.9", { ldLibraryPath: "" })).message).toBe(
      "cannot find library 'libnosuchthing.so.9' (searched the dynamic linker's cache, /lib/x86_64-linux-gnu:/usr/lib/x86_64-linux-gnu:/lib64:/usr/lib64:/lib:/usr/lib)",
    );
  });

  it("RUNPATH with $ORIGIN, LD_LIBRARY_PATH, and short names skip linker scripts", () => {
    const app = join(dir, "app");
    mkdirSync(join(app, "lib"), { recursive: true });
    const src = join(dir, "tiny.c");
    writeFileSync(src, "int tiny_fn(int x) { return x + 1; }\n");
    execFileSync("gcc", ["-shared", "-fPIC", "-Wl,-soname,libtiny.so.1", "-o", join(app, "lib", "libtiny.so.1.0"), src]);
    symlinkSync("libtiny.so.1.0", join(app, "lib", "libtiny.so.1"));
    writeFileSync(join(app, "lib", "libtiny.so"), "/* GNU ld script */\nINPUT(libtiny.so.1)\n");
    const main = join(dir, "main.c");
    writeFileSync(main, "int tiny_fn(int); int main(void) { return tiny_fn(1); }\n");
    execFileSync("gcc", ["-o", join(app, "prog"), main, `-L${join(app, "lib")}`, "-ltiny", "-Wl,-rpath,$ORIGIN/lib", "-Wl,--enable-new-dtags"]);
    const prog = readElf(join(app, "prog"));
    expect(prog.dynamic?.runpath).toEqual(["$ORIGIN/lib"]);
    const want = join(app, "lib", "libtiny.so.1.0");
    expect(resolveLibrary("libtiny.so.1", { from: prog })).toMatchObject({ path: want, foundBy: "runpath" });
    expect(resolveLibrary("libtiny", { from: prog }).path).toBe(want); // libtiny.so is a script: skipped
    expect(resolveLibrary("libtiny.so.1", { ldLibraryPath: join(app, "lib") }).foundBy).toBe("LD_LIBRARY_PATH");
    expect(err(() => resolveLibrary("libtiny.so.1", { ldLibraryPath: "" })).code).toBe("not-found");
  });

  it("a container root: absolute symlinks resolve inside it", () => {
    const root = join(dir, "root");
    mkdirSync(join(root, "usr/lib/x86_64-linux-gnu"), { recursive: true });
    mkdirSync(join(root, "lib/x86_64-linux-gnu"), { recursive: true });
    mkdirSync(join(root, "usr/bin"), { recursive: true });
    copyFileSync(LIBC_REAL, join(root, "usr/lib/x86_64-linux-gnu/libc-2.99.so"));
    symlinkSync("/usr/lib/x86_64-linux-gnu/libc-2.99.so", join(root, "lib/x86_64-linux-gnu/libc.so.6"));
    copyFileSync(elfFixtures.pie(), join(root, "usr/bin/plain"));
    const want = join(root, "usr/lib/x86_64-linux-gnu/libc-2.99.so");
    expect(realpathUnder(root, "/lib/x86_64-linux-gnu/libc.so.6")).toBe(want);
    expect(resolveLibrary("libc.so.6", { root, ldLibraryPath: "" })).toMatchObject({ path: want, foundBy: "default directory" });
    expect(resolveObject("plain", { root, pathEnv: "/usr/bin" }).path).toBe(join(root, "usr/bin/plain"));
    expect(resolveObject("/usr/bin/plain", { root }).path).toBe(join(root, "usr/bin/plain"));
  });
});

/** Start a fixture that prints `&probe_me &puts` and waits; resolves with its pid and those addresses. */
async function startSelfaddr(path: string): Promise<{ child: ChildProcess; pid: number; probeMe: number; puts: number }> {
  const child = spawn(path, [], { stdio: ["pipe", "pipe", "inherit"] });
  children.push(child);
  const line = await new Promise<string>((res, rej) => {
    let buf = "";
    child.stdout!.on("data", (d: Buffer) => {
      buf += d.toString();
      if (buf.includes("\n")) res(buf.split("\n")[0]!);
    });
    child.on("error", rej);
  });
  const [a, b] = line.split(" ").map((x) => parseInt(x, 16));
  return { child, pid: child.pid!, probeMe: a!, puts: b! };
}

describe("processes", () => {
  for (const kind of ["selfaddr", "selfaddrNopie"] as const) {
    it(`load bias puts symbols where the process has them (${kind})`, async () => {
      const exePath = elfFixtures[kind]();
      const { child, pid, probeMe, puts } = await startSelfaddr(exePath);
      try {
        const exe = processExecutable(pid);
        expect(exe).toMatchObject({ path: exePath, openPath: exePath, deleted: false });
        const objs = processObjects(pid);
        expect(objs[0]!.path).toBe(exePath);
        const exeElf = readElf(objs[0]!.openPath);
        const fn = matchFunctions(exeElf, "probe_me")[0]!.symbol;
        const bias = loadBias(exeElf, objs[0]!.mappings)!;
        expect(fn.address + bias).toBe(probeMe);
        if (kind === "selfaddrNopie") expect(bias).toBe(0);
        const libc = findMappedObject(objs, "libc.so.6");
        expect(libc.map((o) => o.path)).toEqual([LIBC_REAL]);
        expect(findMappedObject(objs, "libc").map((o) => o.path)).toEqual([LIBC_REAL]);
        expect(findMappedObject(objs, LIBC_REAL).length).toBe(1);
        const libcElf = readElf(libc[0]!.openPath);
        const putsSym = matchFunctions(libcElf, "puts")[0]!.symbol;
        // a non-PIE program's &puts is its own canonical PLT entry, not libc's code
        if (kind === "selfaddr") expect(putsSym.address + loadBias(libcElf, libc[0]!.mappings)!).toBe(puts);
        else expect(readElf(exePath).segments.some((s) => s.type === 1 && puts >= s.vaddr && puts < s.vaddr + s.memsz)).toBe(true);
        expect(inOtherMountNamespace(pid)).toBe(false);
      } finally {
        child.kill("SIGKILL");
      }
    });
  }

  it("a deleted binary is reached through /proc/PID/exe and map_files", async () => {
    const copy = join(dir, "selfaddr-deleted");
    copyFileSync(elfFixtures.selfaddr(), copy);
    const { child, pid, probeMe } = await startSelfaddr(copy);
    try {
      unlinkSync(copy);
      const exe = processExecutable(pid);
      expect(exe).toMatchObject({ path: copy, openPath: `/proc/${pid}/exe`, deleted: true });
      const objs = processObjects(pid);
      expect(objs[0]!.deleted).toBe(true);
      expect(objs[0]!.openPath).toMatch(new RegExp(`^/proc/${pid}/map_files/[0-9a-f]+-[0-9a-f]+$`));
      for (const p of [exe.openPath, objs[0]!.openPath]) {
        const elf = readElf(p);
        expect(matchFunctions(elf, "probe_me")[0]!.symbol.address + loadBias(elf, objs[0]!.mappings)!).toBe(probeMe);
      }
    } finally {
      child.kill("SIGKILL");
    }
  });

  it("a process in another mount namespace is read through /proc/PID/root", async () => {
    const mnt = join(dir, "nsmnt");
    mkdirSync(mnt);
    // the program exists only inside the new namespace's private tmpfs
    const script = `mount -t tmpfs none '${mnt}' && cp '${elfFixtures.selfaddr()}' '${mnt}/prog' && exec '${mnt}/prog'`;
    const child = spawn("unshare", ["-m", "--propagation", "private", "sh", "-c", script], { stdio: ["pipe", "pipe", "inherit"] });
    children.push(child);
    const line = await new Promise<string>((res) => {
      let buf = "";
      child.stdout!.on("data", (d: Buffer) => {
        buf += d.toString();
        if (buf.includes("\n")) res(buf.split("\n")[0]!);
      });
    });
    try {
      const pid = child.pid!; // sh exec'd the program: same pid
      expect(inOtherMountNamespace(pid)).toBe(true);
      const exe = processExecutable(pid);
      expect(exe).toMatchObject({ path: `${mnt}/prog`, openPath: `/proc/${pid}/root${mnt}/prog`, deleted: false });
      const objs = processObjects(pid);
      expect(objs[0]!.openPath).toBe(`/proc/${pid}/root${mnt}/prog`);
      const elf = readElf(exe.openPath);
      expect(matchFunctions(elf, "probe_me")[0]!.symbol.address + loadBias(elf, objs[0]!.mappings)!).toBe(parseInt(line.split(" ")[0]!, 16));
      expect(resolveObject(`/proc/${pid}/root${mnt}/prog`).path).toBe(`/proc/${pid}/root${mnt}/prog`);
    } finally {
      child.kill("SIGKILL");
    }
  });

  it("maps parsing: spaces in paths, (deleted), anonymous and special mappings", () => {
    const maps = parseMaps(
      [
        "55d4c0a00000-55d4c0a21000 r-xp 00001000 fd:01 1234   /opt/my app/bin (x) (deleted)",
        "7ffd1c5e0000-7ffd1c601000 rw-p 00000000 00:00 0      [stack]",
        "7f0000000000-7f0000001000 rw-p 00000000 00:00 0 ",
      ].join("\n"),
    );
    expect(maps[0]).toEqual({ start: 0x55d4c0a00000, end: 0x55d4c0a21000, perms: "r-xp", offset: 0x1000, dev: "fd:01", inode: 1234, path: "/opt/my app/bin (x)", deleted: true });
    expect(maps[1]!.path).toBe("[stack]");
    expect(maps[2]!.path).toBeUndefined();
    expect(err(() => parseMaps("nonsense")).code).toBe("malformed");
    expect(processMaps(process.pid).some((m) => m.path === process.execPath || m.path === realpathSync(process.execPath))).toBe(true);
  });

  it("a process that does not exist", () => {
    expect(err(() => processMaps(0x3ffffff0)).message).toBe(`no process with pid ${0x3ffffff0}`);
    expect(err(() => processExecutable(0x3ffffff0)).message).toBe(`no process with pid ${0x3ffffff0}`);
    expect(err(() => processMaps(-1)).message).toBe("invalid process id -1");
    expect(err(() => processExecutable(2)).message).toBe("process 2 has no executable (a kernel thread or a zombie)");
  });
});

// keep the generic builder exercised for other test files' reuse
it("buildFixture caches by content", () => {
  expect(buildFixture({ sources: ["elf/plain.c"], flags: ["-O2", "-g"], name: "plain-pie" })).toBe(elfFixtures.pie());
});
