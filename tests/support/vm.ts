/**
 * A real Debian 12 machine for end-to-end tests: a root file system made by debootstrap from Debian's packages
 * (cached between runs, with the packages the remote steps would install, since the VM reaches no network),
 * cloud-init NoCloud seeded with the program's own user data, booted under QEMU (TCG; KVM hangs on these
 * machines) with its ports forwarded to 127.0.0.1 only. Processes that boot from the one cached image at once (an
 * end-to-end run and `npm run bench:verify`, say) are kept apart by its lock.
 */
import { ChildProcess, spawn, spawnSync } from "child_process";
import * as crypto from "crypto";
import * as fs from "fs";
import * as net from "net";
import * as path from "path";
import { freePort, stopProcess } from "./nginx";

/** Packages baked into the image: systemd, cloud-init, and everything the remote steps install. */
export const IMAGE_PACKAGES = [
    "systemd", "systemd-sysv", "udev", "dbus", "openssh-server", "linux-image-amd64", "cloud-init", "python3-cffi-backend",
    "ifupdown", "isc-dhcp-client", "iproute2", "netbase", "procps", "kmod", "sudo",
    "nginx", "certbot", "postgresql", "ssl-cert", "fail2ban", "python3-systemd", "ufw", "unattended-upgrades", "apt-listchanges",
    "curl", "openssl", "ca-certificates", "sqlite3", "logrotate", "auditd",
];

/** Whether a TCP service answers on a forwarded port (QEMU accepts, then closes when the guest refuses or drops). */
export function answers(host: string, port: number, timeoutMs = 5000): Promise<boolean> {
    return new Promise((resolve) => {
        const s = net.connect(port, host);
        let data = false;
        s.on("data", () => (data = true));
        s.on("connect", () => s.write("GET / HTTP/1.0\r\n\r\n"));
        s.setTimeout(timeoutMs, () => s.destroy());
        s.on("close", () => resolve(data));
        s.on("error", () => resolve(false));
    });
}

/**
 * A `webapp:backupTime` twelve hours from now on the guest's clock (UTC: the image's /etc/localtime is Etc/UTC). The
 * backup jobs run at that time, 30 minutes, and on Sundays one and three hours after it, so none of them starts
 * during an end-to-end run (well under an hour) and changes the backups a test is looking at, whatever the hour.
 */
export function quietBackupTime(now = new Date()): string {
    const t = new Date(now.getTime() + 12 * 3600_000);
    return `${String(t.getUTCHours()).padStart(2, "0")}:${String(t.getUTCMinutes()).padStart(2, "0")}`;
}

export type Image = { rootfs: string; kernel: string; initrd: string };

function sh(cmd: string, args: string[], opts: { input?: string; timeoutMs?: number } = {}) {
    const res = spawnSync(cmd, args, { encoding: "utf8", input: opts.input, timeout: opts.timeoutMs, maxBuffer: 64 * 1024 * 1024 });
    if (res.status !== 0) throw new Error(`${cmd} ${args.join(" ")} failed (${res.status}): ${res.stderr || res.stdout}`.slice(0, 4000));
    return res.stdout;
}

/**
 * Runs `fn` holding the image cache's lock (a directory made atomically, with the holder's pid): each boot writes
 * its seed into the one root file system before making its disk from it, and another process may be booting from
 * the same cache. A lock whose holder is gone is taken over.
 */
function withImageLock<T>(cacheDir: string, fn: () => T): T {
    const lock = path.join(cacheDir, ".lock");
    fs.mkdirSync(cacheDir, { recursive: true });
    const pause = new Int32Array(new SharedArrayBuffer(4));
    for (;;) {
        try {
            fs.mkdirSync(lock);
            fs.writeFileSync(path.join(lock, "pid"), String(process.pid));
            break;
        } catch (err) {
            if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
            const holder = Number(fs.existsSync(path.join(lock, "pid")) ? fs.readFileSync(path.join(lock, "pid"), "utf8") : NaN);
            let alive = true;
            try {
                if (holder) process.kill(holder, 0);
            } catch {
                alive = false;
            }
            if (!alive) fs.rmSync(lock, { recursive: true, force: true });
            else Atomics.wait(pause, 0, 0, 200);
        }
    }
    try {
        return fn();
    } finally {
        fs.rmSync(lock, { recursive: true, force: true });
    }
}

/** The image's root file system, built once per package list. */
export function ensureImage(cacheDir: string): Image {
    return withImageLock(cacheDir, () => buildImage(cacheDir));
}

function buildImage(cacheDir: string): Image {
    const stamp = crypto.createHash("sha256").update(IMAGE_PACKAGES.join(",")).digest("hex").slice(0, 16);
    const dir = path.join(cacheDir, `debian12-${stamp}`);
    const rootfs = path.join(dir, "rootfs");
    if (!fs.existsSync(path.join(dir, "ready"))) {
        fs.rmSync(dir, { recursive: true, force: true });
        fs.mkdirSync(dir, { recursive: true });
        sh("debootstrap", ["--variant=minbase", `--include=${IMAGE_PACKAGES.join(",")}`, "bookworm", rootfs], { timeoutMs: 20 * 60 * 1000 });
        fs.writeFileSync(path.join(dir, "ready"), new Date().toISOString());
    }
    // What a cloud provider's Debian image has and minbase lacks.
    fs.writeFileSync(path.join(rootfs, "etc", "fstab"), "/dev/vda / ext4 defaults,errors=remount-ro 0 1\n");
    // The network of a NoCloud instance: DHCP on the first interface, as cloud-init's fallback would set it.
    fs.writeFileSync(path.join(rootfs, "etc", "network", "interfaces.d", "eth0"), "auto eth0\niface eth0 inet dhcp\n");
    fs.writeFileSync(path.join(rootfs, "etc", "cloud", "cloud.cfg.d", "90-image.cfg"), "datasource_list: [ NoCloud, None ]\nlocale: C.UTF-8\n");
    const boot = fs.readdirSync(path.join(rootfs, "boot"));
    const kernel = boot.find((f) => f.startsWith("vmlinuz-"));
    const initrd = boot.find((f) => f.startsWith("initrd.img-"));
    if (!kernel || !initrd) throw new Error(`no kernel/initrd in ${rootfs}/boot`);
    return { rootfs, kernel: path.join(rootfs, "boot", kernel), initrd: path.join(rootfs, "boot", initrd) };
}

/**
 * A private network between VMs (the provider's private network): a QEMU socket netdev on a multicast group
 * bound to the host's loopback, so its frames reach the other VMs on that group and nothing else. The guest's
 * second interface gets a static address, as the provider's network configuration would.
 */
export type PrivateNet = {
    /** Multicast group and port, e.g. `230.0.0.1:41234`; one per test run. */
    group: string;
    /** The guest's address with its prefix, e.g. `10.0.0.10/24`. */
    address: string;
    /** The interface's MAC address, unique on the network. */
    mac: string;
};

export type Vm = {
    /** Host port forwarded to each guest port. */
    ports: Record<number, number>;
    /** Host port forwarded to each guest port on the private address (`forwardPrivate`), from the user network's host. */
    privatePorts: Record<number, number>;
    /** The host's loopback address the forwarded ports listen on. */
    loopback: string;
    /**
     * Host port forwarded to each guest port through the second network (`outside`): there the guest sees clients
     * arrive from 10.0.3.2, an address outside the admin network 10.0.2.2 of the first.
     */
    outsidePorts: Record<number, number>;
    serialLog: string;
    /** Runs a command over SSH as `user` with the given key; returns the result without throwing. */
    ssh: (command: string, opts?: { input?: string; user?: string; key?: string; extra?: string[]; timeoutMs?: number }) => ReturnType<typeof spawnSync> & { stdout: string; stderr: string };
    waitForSsh: (timeoutMs?: number) => Promise<void>;
    stop: () => Promise<void>;
};

/**
 * Boots the image with a fresh disk that carries the NoCloud seed (user-data, meta-data) under
 * /var/lib/cloud/seed/nocloud. Guest ports in `forward` are reachable on `loopback` (default 127.0.0.1) only, each
 * on a free port; those in `same` at their own number (so that a program's config can name the port). SSH goes to
 * `sshPort` (default 22). The first interface is QEMU's user network (`userNet`, default 10.0.2.0/24, the host
 * at .2); with `privateNet` the second joins a private network between VMs, and `forwardPrivate` ports reach the
 * guest's private address from the user network's host (as a load balancer on the private network would).
 */
export async function bootVm(o: {
    image: Image;
    workDir: string;
    userData: string;
    hostname: string;
    forward: number[];
    same?: number[];
    outside?: number[];
    sshPort?: number;
    adminUser: string;
    key: string;
    loopback?: string;
    userNet?: string;
    privateNet?: PrivateNet;
    forwardPrivate?: number[];
    memoryMiB?: number;
    /**
     * Virtual CPUs, default 2. Each is a host thread under TCG; more of them than the host has cores makes a guest
     * wait on its own descheduled CPUs. Measured on two cores: one guest alone boots and works faster with 2; three
     * at once booted in 213 s with 1 each against 276 s with 2, and ran the same work in 94 s against 137 s.
     */
    cpus?: number;
}): Promise<Vm> {
    if (o.outside?.length && o.privateNet) throw new Error("bootVm: `outside` and `privateNet` both use the second interface");
    fs.mkdirSync(o.workDir, { recursive: true });
    const disk = path.join(o.workDir, "disk.img");
    const loopback = o.loopback ?? "127.0.0.1";
    // This boot's seed goes into the shared root file system, and the disk is made from it, under the image's lock.
    withImageLock(path.dirname(path.dirname(o.image.rootfs)), () => {
        // The second interface: the internet beyond the admin network (`outside`, DHCP) or the private network (static).
        fs.writeFileSync(
            path.join(o.image.rootfs, "etc", "network", "interfaces.d", "eth1"),
            o.privateNet ? `auto eth1\niface eth1 inet static\n    address ${o.privateNet.address}\n` : "allow-hotplug eth1\niface eth1 inet dhcp\n",
        );
        const seed = path.join(o.image.rootfs, "var", "lib", "cloud", "seed", "nocloud");
        fs.mkdirSync(seed, { recursive: true });
        fs.writeFileSync(path.join(seed, "user-data"), o.userData);
        fs.writeFileSync(path.join(seed, "meta-data"), `instance-id: ${o.hostname}-${Date.now()}\nlocal-hostname: ${o.hostname}\n`);
        fs.rmSync(path.join(o.image.rootfs, "var", "lib", "cloud", "instances"), { recursive: true, force: true });
        fs.rmSync(disk, { force: true });
        sh("mkfs.ext4", ["-q", "-F", "-d", o.image.rootfs, disk, "4G"], { timeoutMs: 5 * 60 * 1000 });
    });
    const ports: Record<number, number> = {};
    for (const p of o.forward) ports[p] = await freePort();
    const privatePorts: Record<number, number> = {};
    for (const p of o.forwardPrivate ?? []) privatePorts[p] = await freePort();
    const privateAddress = o.privateNet?.address.split("/")[0];
    if (o.forwardPrivate?.length && !privateAddress) throw new Error("bootVm: `forwardPrivate` needs `privateNet`");
    for (const p of o.same ?? []) ports[p] = p;
    const outsidePorts: Record<number, number> = {};
    for (const p of o.outside ?? []) outsidePorts[p] = await freePort();
    const secondNet = o.outside?.length
        ? ["-netdev", `user,id=net1,net=10.0.3.0/24,${Object.entries(outsidePorts).map(([guest, host]) => `hostfwd=tcp:${loopback}:${host}-:${guest}`).join(",")}`, "-device", "virtio-net-pci,netdev=net1"]
        : o.privateNet
          ? ["-netdev", `socket,id=net1,mcast=${o.privateNet.group},localaddr=127.0.0.1`, "-device", `virtio-net-pci,netdev=net1,mac=${o.privateNet.mac}`]
          : [];
    const sshPort = o.sshPort ?? 22;
    const serialLog = path.join(o.workDir, "serial.log");
    const hostfwd = [
        ...Object.entries(ports).map(([guest, host]) => `hostfwd=tcp:${loopback}:${host}-:${guest}`),
        ...Object.entries(privatePorts).map(([guest, host]) => `hostfwd=tcp:${loopback}:${host}-${privateAddress}:${guest}`),
    ].join(",");
    const qemu: ChildProcess = spawn(
        "qemu-system-x86_64",
        ["-accel", "tcg", "-smp", String(o.cpus ?? 2), "-m", String(o.memoryMiB ?? 2048), "-nographic", "-serial", `file:${serialLog}`, "-monitor", "none", "-display", "none",
            "-kernel", o.image.kernel, "-initrd", o.image.initrd, "-append", "root=/dev/vda rw console=ttyS0 net.ifnames=0 ds=nocloud",
            "-drive", `file=${disk},format=raw,if=virtio`, "-netdev", `user,id=net0,${o.userNet ? `net=${o.userNet},` : ""}${hostfwd}`, "-device", "virtio-net-pci,netdev=net0", ...secondNet],
        // QEMU's own complaints (a port taken, a bad option) go to qemu.log, quoted when it exits early.
        { stdio: ["ignore", "ignore", fs.openSync(path.join(o.workDir, "qemu.log"), "w")] },
    );
    const exited = new Promise<void>((r) => qemu.once("exit", () => r()));
    const ssh: Vm["ssh"] = (command, opts = {}) => {
        const res = spawnSync(
            "ssh",
            ["-p", String(ports[sshPort]), "-i", opts.key ?? o.key, "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null", "-o", "BatchMode=yes",
                "-o", "ConnectTimeout=10", "-o", "LogLevel=ERROR", ...(opts.extra ?? []), `${opts.user ?? o.adminUser}@${loopback}`, command],
            { encoding: "utf8", input: opts.input ?? "", timeout: opts.timeoutMs ?? 10 * 60 * 1000, maxBuffer: 64 * 1024 * 1024 },
        );
        return res as ReturnType<typeof spawnSync> & { stdout: string; stderr: string };
    };
    const vm: Vm = {
        ports,
        privatePorts,
        loopback,
        outsidePorts,
        serialLog,
        ssh,
        waitForSsh: async (timeoutMs = 300_000) => {
            const deadline = Date.now() + timeoutMs;
            for (;;) {
                if (qemu.exitCode !== null) {
                    const read = (f: string) => (fs.existsSync(f) ? fs.readFileSync(f, "utf8").slice(-3000) : "(none)");
                    throw new Error(`QEMU exited (${qemu.exitCode}): ${read(path.join(o.workDir, "qemu.log"))}\nserial log:\n${read(serialLog)}`);
                }
                // Up means: the admin gets in and cloud-init has finished (it restarts sshd while it works).
                if (ssh("true", { timeoutMs: 20_000 }).status === 0 && ssh("cloud-init status --wait >/dev/null 2>&1; true", { timeoutMs: 240_000 }).status === 0 && ssh("true", { timeoutMs: 20_000 }).status === 0) return;
                if (Date.now() > deadline) throw new Error(`no SSH after ${timeoutMs} ms; serial log:\n${fs.existsSync(serialLog) ? fs.readFileSync(serialLog, "utf8").slice(-3000) : ""}`);
                await new Promise((r) => setTimeout(r, 3000));
            }
        },
        stop: async () => {
            await stopProcess(qemu, exited, "SIGTERM", 10_000);
            fs.rmSync(disk, { force: true });
        },
    };
    return vm;
}
