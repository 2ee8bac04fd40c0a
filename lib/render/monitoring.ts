/**
 * Resource alerts (MON-1): a check every minute for CPU above 80 % for 5 minutes, memory above 90 %, a disk
 * above 85 % and more than 10 app errors a minute. An alert is logged to the journal at alert priority (where
 * journald forwarding, e-mail or a log shipper picks it up) and fails the unit, so `systemctl --failed` and any
 * OnFailure= hook see it too.
 */
import { shq } from "./apply-script";

export type MonitoringOptions = {
    appName: string;
    /** The app's error log. Default `/var/log/<app>/error.log`. */
    errorLog?: string;
    cpuPercent?: number;
    cpuMinutes?: number;
    memoryPercent?: number;
    diskPercent?: number;
    errorsPerMinute?: number;
};

export const alertScriptPath = (appName: string) => `/usr/local/lib/${appName}/resource-alerts`;

export function renderAlertScript(o: MonitoringOptions): string {
    const n = (v: number | undefined, d: number) => {
        const x = v ?? d;
        if (!Number.isInteger(x) || x < 1) throw new Error(`monitoring: thresholds must be whole numbers >= 1, got ${x}`);
        return x;
    };
    return [
        "#!/bin/bash",
        "# Managed by Pulumi: resource alerts (MON-1), run every minute by a timer.",
        "set -uo pipefail",
        `CPU_PERCENT=${n(o.cpuPercent, 80)}`,
        `CPU_MINUTES=${n(o.cpuMinutes, 5)}`,
        `MEMORY_PERCENT=${n(o.memoryPercent, 90)}`,
        `DISK_PERCENT=${n(o.diskPercent, 85)}`,
        `ERRORS_PER_MINUTE=${n(o.errorsPerMinute, 10)}`,
        'proc=${PROC_ROOT:-/proc}',
        `state=\${ALERT_STATE_DIR:-/var/lib/${o.appName}-alerts}`,
        `error_log=\${APP_ERROR_LOG:-${shq(o.errorLog ?? `/var/log/${o.appName}/error.log`)}}`,
        "alerts=0",
        'alert() { echo "ALERT: $*"; logger -p user.alert -t ' + shq(`${o.appName}-alerts`) + ' "$*" 2>/dev/null || true; alerts=$((alerts + 1)); }',
        'mkdir -p "$state"',
        "",
        "# CPU: busy share since the previous run, kept for the last CPU_MINUTES runs",
        'read -r _ user nice system idle iowait irq softirq steal _ < "$proc/stat"',
        "total=$((user + nice + system + idle + iowait + irq + softirq + steal))",
        "busy=$((total - idle - iowait))",
        'if [ -r "$state/cpu" ]; then',
        '    read -r last_total last_busy < "$state/cpu"',
        '    if [ "$total" -gt "$last_total" ]; then echo $(( (busy - last_busy) * 100 / (total - last_total) )) >> "$state/cpu-history"; fi',
        "fi",
        'echo "$total $busy" > "$state/cpu"',
        'if [ -r "$state/cpu-history" ]; then',
        '    tail -n "$CPU_MINUTES" "$state/cpu-history" > "$state/cpu-history.new" && mv "$state/cpu-history.new" "$state/cpu-history"',
        '    if [ "$(wc -l < "$state/cpu-history")" -ge "$CPU_MINUTES" ] && awk -v limit="$CPU_PERCENT" \'$1 <= limit { low = 1 } END { exit low }\' "$state/cpu-history"; then',
        '        alert "CPU above ${CPU_PERCENT}% for ${CPU_MINUTES} minutes ($(paste -sd, "$state/cpu-history")%)"',
        "    fi",
        "fi",
        "",
        "# Memory in use, from MemAvailable",
        "mem_total=$(awk '/^MemTotal:/ { print $2 }' \"$proc/meminfo\")",
        "mem_available=$(awk '/^MemAvailable:/ { print $2 }' \"$proc/meminfo\")",
        "mem_used=$(( (mem_total - mem_available) * 100 / mem_total ))",
        'if [ "$mem_used" -gt "$MEMORY_PERCENT" ]; then alert "memory ${mem_used}% used (limit ${MEMORY_PERCENT}%)"; fi',
        "",
        "# Disks: every local file system that is not memory-backed",
        'if [ -n "${ALERT_DF_FILE:-}" ]; then df_out=$(cat "$ALERT_DF_FILE"); else df_out=$(df -P -l -x tmpfs -x devtmpfs -x squashfs --output=pcent,target); fi',
        'while read -r pcent target; do',
        '    used=${pcent%\\%}',
        '    if [ "$used" -gt "$DISK_PERCENT" ]; then alert "disk $target ${used}% full (limit ${DISK_PERCENT}%)"; fi',
        'done < <(tail -n +2 <<< "$df_out")',
        "",
        "# App errors written since the previous run",
        'size=$(stat -c %s "$error_log" 2>/dev/null || echo 0)',
        'offset=$(cat "$state/error-log-offset" 2>/dev/null || echo 0)',
        'if [ "$size" -lt "$offset" ]; then offset=0; fi # rotated',
        "errors=$(tail -c +$((offset + 1)) \"$error_log\" 2>/dev/null | grep -c -E 'ERROR|CRITICAL|level=error' || true)",
        'echo "$size" > "$state/error-log-offset"',
        'if [ "${errors:-0}" -gt "$ERRORS_PER_MINUTE" ]; then alert "$errors app errors in the last minute (limit ${ERRORS_PER_MINUTE})"; fi',
        "",
        'if [ "$alerts" -gt 0 ]; then exit 1; fi',
        'echo "ok: cpu history $(paste -sd, "$state/cpu-history" 2>/dev/null || echo none)%, memory ${mem_used}%, errors ${errors:-0}/min"',
        "",
    ].join("\n");
}

export function renderAlertUnits(o: MonitoringOptions): Record<string, string> {
    return {
        [`${o.appName}-resource-alerts.service`]: [
            "# Managed by Pulumi (MON-1).",
            "[Unit]",
            `Description=${o.appName} resource alerts`,
            "",
            "[Service]",
            "Type=oneshot",
            `ExecStart=${alertScriptPath(o.appName)}`,
            "NoNewPrivileges=yes",
            "ProtectSystem=strict",
            "# StateDirectory= is writable under ProtectSystem=strict.",
            `StateDirectory=${o.appName}-alerts`,
            "PrivateTmp=yes",
            "",
        ].join("\n"),
        [`${o.appName}-resource-alerts.timer`]: [
            "# Managed by Pulumi (MON-1).",
            "[Unit]",
            `Description=${o.appName} resource alerts every minute`,
            "",
            "[Timer]",
            "OnBootSec=2min",
            "OnUnitActiveSec=1min",
            "AccuracySec=5s",
            "",
            "[Install]",
            "WantedBy=timers.target",
            "",
        ].join("\n"),
    };
}
