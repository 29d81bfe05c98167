import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, statfsSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** A small tmpfs of its own: a real disk that really fills up or turns read-only. Needs root (mount). */
export interface TestDisk {
  dir: string;
  /** Writes a filler file until the disk has no space left. */
  fill(): void;
  /** Deletes the filler file. */
  unfill(): void;
  /** Remounts the disk read-only (`ro: false`: writable again). */
  readOnly(ro?: boolean): void;
  freeBytes(): number;
  /** Unmounts and deletes the mount point. Safe to call more than once. */
  unmount(): void;
}

/** Why a disk cannot be mounted here (not root, no mount permission), or undefined when it can. */
export function cannotMount(): string | undefined {
  if (process.getuid?.() !== 0) return "mounting a tmpfs needs root";
  try {
    mountDisk(64 * 1024).unmount();
    return undefined;
  } catch (error) {
    return `mount -t tmpfs failed: ${(error as Error).message}`;
  }
}

export function mountDisk(sizeBytes: number): TestDisk {
  const dir = mkdtempSync(join(tmpdir(), "toolgate-disk-"));
  execFileSync("mount", ["-t", "tmpfs", "-o", `size=${sizeBytes},mode=0700`, "tmpfs", dir], { stdio: "pipe" });
  const filler = join(dir, "filler");
  let mounted = true;
  return {
    dir,
    fill() {
      try {
        writeFileSync(filler, Buffer.alloc(sizeBytes));
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== "ENOSPC") throw error;
      }
    },
    unfill: () => rmSync(filler, { force: true }),
    readOnly(ro = true) {
      execFileSync("mount", ["-o", `remount,${ro ? "ro" : "rw"}`, dir], { stdio: "pipe" });
    },
    freeBytes() {
      const s = statfsSync(dir);
      return s.bavail * s.bsize;
    },
    unmount() {
      if (!mounted) return;
      mounted = false;
      execFileSync("umount", ["-l", dir], { stdio: "pipe" });
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
