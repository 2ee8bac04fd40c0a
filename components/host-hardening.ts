/**
 * HostHardening: one server's base hardening as remote steps, in order: packages, users, SSH (SSH-1..3, SSH-5,
 * SSH-6), host firewall (NET-1, NET-3), fail2ban (SSH-4, LOG-2), unattended upgrades from the security suite
 * (HOST-1, HOST-6), sysctl (HOST-2, HOST-7), the OS baseline (core dumps HOST-8, kernel modules HOST-9,
 * permissions HOST-10), the audit trail (LOG-3), resource alerts (MON-1).
 */
import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import { ApplyScript, enableNow, HostPlan, plannedStepName } from "../lib/render/apply-script";
import { renderAutoUpgrades, renderUnattendedUpgrades } from "../lib/render/apt";
import {
    AUDIT_RULES_PATH, AUDITD_CONF_PATH, LOGIN_UMASK, loginDefsCommands, MODPROBE_PATH, PERMISSION_COMMANDS, renderAuditdConf, renderAuditRules, renderCoreDumpFiles,
    renderModprobe, renderSecuritySources, renderUmaskProfile, SECURITY_SOURCES_PATH, UMASK_PROFILE_PATH,
} from "../lib/render/baseline";
import { renderAppFilter, renderAppJail, renderSshdJail } from "../lib/render/fail2ban";
import { DEFAULT_LOG_FILES } from "../lib/render/logrotate";
import { renderSshdConfig, SSH_KEY_COMMANDS, SSHD_DROPIN_PATH } from "../lib/render/sshd";
import { alertScriptPath, renderAlertScript, renderAlertUnits } from "../lib/render/monitoring";
import { renderSysctl } from "../lib/render/sysctl";
import { renderUfwRules, UFW_APPLY, UFW_RULES_PATH } from "../lib/render/ufw";
import type { FirewallRole } from "../lib/net";
import { remoteStep } from "./remote-step";
import type { SshConnection } from "./vps";

export interface HostHardeningArgs {
    /** How to reach the server. Required. */
    connection: pulumi.Input<SshConnection>;
    /** The admin user, the only one SSH lets in (SSH-3). Required. */
    adminUser: string;
    /** SSH port. Default 22. */
    sshPort?: number;
    /** Networks allowed to reach SSH through ufw (NET-1). Required. */
    adminCidrs: string[];
    /** The app's name: its system user (HOST-3), log directory and fail2ban jail. Required. */
    appName: string;
    /** Log file names under /var/log/<app> with the app's SECURITY[...] lines. Default: those of logrotate's defaults. */
    appLogFiles?: string[];
    /** Reboot automatically after upgrades that need it. Default false. */
    automaticReboot?: boolean;
    /**
     * The server's place in the topology, for ufw's rules on the private network (lib/net.ts): a standalone app
     * server, an app server behind the load balancer, or the database server. Default: standalone.
     */
    firewallRole?: FirewallRole;
}

/** Package installs, skipped when all are installed; they wait for the dpkg lock instead of failing on it. */
export const aptInstall = (packages: string[]) => [
    "export DEBIAN_FRONTEND=noninteractive",
    `installed=$(dpkg-query -W -f='\${Status}\\n' ${packages.join(" ")} 2>/dev/null | grep -c '^install ok installed$' || true)`,
    `if [ "$installed" -ne ${packages.length} ]; then`,
    "    apt-get -o DPkg::Lock::Timeout=300 update -q",
    `    apt-get -o DPkg::Lock::Timeout=300 install -y -q --no-install-recommends ${packages.join(" ")}`,
    "fi",
];

/** The scripts of every step, in order. Pure, so tests and policies see exactly what the host gets. */
export function hostHardeningScripts(a: HostHardeningArgs): ApplyScript[] {
    const sshPort = a.sshPort ?? 22;
    const logFiles = (a.appLogFiles ?? DEFAULT_LOG_FILES.map((f) => f.name)).map((f) => `/var/log/${a.appName}/${f}`);
    const f2b = { appName: a.appName, sshPort, appLogFiles: logFiles, banIn: a.firewallRole?.kind === "behind-load-balancer" ? ("nginx" as const) : ("firewall" as const) };
    return [
        {
            name: "packages",
            files: [],
            prepare: [
                // A new server is still running cloud-init (users, sshd drop-in); wait for it to finish.
                "if command -v cloud-init >/dev/null; then cloud-init status --wait >/dev/null || true; fi",
                ...aptInstall(["ufw", "fail2ban", "python3-systemd", "unattended-upgrades", "apt-listchanges", "curl", "openssl", "ca-certificates", "auditd"]),
            ],
        },
        {
            name: "users",
            files: [],
            prepare: [
                `id -u ${a.appName} >/dev/null 2>&1 || useradd --system --home-dir /var/lib/${a.appName} --no-create-home --shell /usr/sbin/nologin ${a.appName}`,
                `install -d -m 0755 -o root -g root /opt/${a.appName}`,
                `install -d -m 0750 -o ${a.appName} -g ${a.appName} /var/lib/${a.appName} /var/log/${a.appName}`,
                `install -d -m 0700 -o root -g root /etc/${a.appName} /etc/${a.appName}/credentials`,
                // fail2ban refuses to start a jail whose log file does not exist yet.
                ...logFiles.map((f) => `[ -e ${f} ] || install -m 0640 -o ${a.appName} -g ${a.appName} /dev/null ${f}`),
            ],
        },
        {
            name: "ssh",
            prepare: [
                ...SSH_KEY_COMMANDS,
                // sshd takes a setting's first value, and drop-ins load in name order: any other drop-in would override
                // this step's (a hand-made 00-x.conf with PasswordAuthentication yes). The step owns the directory.
                `for f in /etc/ssh/sshd_config.d/*.conf; do if [ -e "$f" ] && [ "$f" != ${SSHD_DROPIN_PATH} ]; then mv -f "$f" "$f.disabled-by-pulumi"; log "disabled $f"; changed+=("$f"); fi; done`,
            ],
            files: [{ path: SSHD_DROPIN_PATH, content: renderSshdConfig({ adminUser: a.adminUser, port: sshPort }) }],
            validate: ["sshd -t"],
            activate: ["systemctl reload ssh"],
        },
        { name: "firewall", files: [{ path: UFW_RULES_PATH, content: renderUfwRules({ sshPort, adminCidrs: a.adminCidrs, role: a.firewallRole }) }], ensure: [...UFW_APPLY] },
        {
            name: "fail2ban",
            files: [
                { path: "/etc/fail2ban/jail.d/sshd.local", content: renderSshdJail(f2b) },
                { path: `/etc/fail2ban/filter.d/${a.appName}.conf`, content: renderAppFilter() },
                { path: `/etc/fail2ban/jail.d/${a.appName}.local`, content: renderAppJail(f2b) },
            ],
            validate: ["fail2ban-client --test >/dev/null"],
            activate: ["systemctl restart fail2ban"],
            ensure: [enableNow(["fail2ban"])],
        },
        {
            name: "upgrades",
            files: [
                { path: "/etc/apt/apt.conf.d/20auto-upgrades", content: renderAutoUpgrades() },
                { path: "/etc/apt/apt.conf.d/52unattended-upgrades-local", content: renderUnattendedUpgrades({ automaticReboot: a.automaticReboot }) },
                { path: SECURITY_SOURCES_PATH, content: renderSecuritySources() },
            ],
            // --print-uris reads every source without fetching: a malformed file fails here.
            validate: ["apt-config dump >/dev/null", "apt-get -q --print-uris update >/dev/null"],
            ensure: [enableNow(["apt-daily.timer", "apt-daily-upgrade.timer"])],
        },
        { name: "sysctl", files: [{ path: "/etc/sysctl.d/99-zz-hardening.conf", content: renderSysctl() }], validate: ["sysctl -q -p /etc/sysctl.d/99-zz-hardening.conf"] },
        {
            name: "baseline",
            files: [
                ...renderCoreDumpFiles(),
                { path: MODPROBE_PATH, content: renderModprobe() },
                { path: UMASK_PROFILE_PATH, content: renderUmaskProfile() },
            ],
            validate: ["systemd-analyze cat-config systemd/system.conf >/dev/null"],
            // PID 1 reads DefaultLimitCORE only when it starts; re-executing it keeps every service running.
            activate: ["systemctl daemon-reexec"],
            ensure: [...loginDefsCommands({ UMASK: LOGIN_UMASK, HOME_MODE: "0750" }), ...PERMISSION_COMMANDS],
        },
        {
            name: "audit",
            files: [
                { path: AUDIT_RULES_PATH, content: renderAuditRules(), mode: "0640" },
                { path: AUDITD_CONF_PATH, content: renderAuditdConf(), mode: "0640" },
            ],
            // auditd refuses systemctl restart; the rules load through augenrules, the settings on SIGHUP.
            activate: ["augenrules --load >/dev/null", "if systemctl is-active --quiet auditd; then systemctl kill -s HUP auditd; fi"],
            ensure: [enableNow(["auditd"])],
        },
        monitoringScript(a.appName),
    ];
}

/** Resource alerts (MON-1): the check script and its every-minute timer. */
function monitoringScript(appName: string): ApplyScript {
    const units = renderAlertUnits({ appName });
    return {
        name: "monitoring",
        files: [
            { path: alertScriptPath(appName), content: renderAlertScript({ appName }), mode: "0755" },
            ...Object.entries(units).map(([name, content]) => ({ path: `/etc/systemd/system/${name}`, content })),
        ],
        validate: [`systemd-analyze verify ${Object.keys(units).map((u) => `/etc/systemd/system/${u}`).join(" ")}`],
        activate: ["systemctl daemon-reload"],
        ensure: [enableNow([`${appName}-resource-alerts.timer`])],
    };
}

export class HostHardening extends pulumi.ComponentResource {
    /** The steps in order; the last one finishes the hardening. */
    public readonly steps: command.remote.Command[];

    constructor(name: string, args: HostHardeningArgs, opts?: pulumi.ComponentResourceOptions) {
        const scripts = hostHardeningScripts(args);
        // The steps' scripts as data, among the component's inputs: the engine registers the component before any
        // of its steps, and the pack judges them all together then (policies/support.ts, HOST_PLAN_CARRIERS).
        super("webapp:host:HostHardening", name, { ...args, plan: { steps: scripts } satisfies HostPlan }, opts);
        this.steps = [];
        for (const script of scripts) {
            const previous = this.steps[this.steps.length - 1];
            // The first step carries the component's own dependsOn, which does not reach children by itself.
            this.steps.push(remoteStep(plannedStepName(name, script), { connection: args.connection, script }, { parent: this, dependsOn: previous ? [previous] : opts?.dependsOn }));
        }
        this.registerOutputs({});
    }
}
