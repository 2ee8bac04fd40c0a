/**
 * Unattended security upgrades (HOST-1): the periodic switches and the local policy, for
 * `/etc/apt/apt.conf.d/20auto-upgrades` and `/etc/apt/apt.conf.d/52unattended-upgrades-local`.
 */

export type UnattendedOptions = {
    /** Reboot by itself when an upgrade needs it. Default false. */
    automaticReboot?: boolean;
    /** Reboot time (HH:MM) when automaticReboot. Default "03:30". */
    rebootTime?: string;
};

export function renderAutoUpgrades(): string {
    return [
        "// Managed by Pulumi (HOST-1).",
        'APT::Periodic::Update-Package-Lists "1";',
        'APT::Periodic::Unattended-Upgrade "1";',
        'APT::Periodic::AutocleanInterval "7";',
        "",
    ].join("\n");
}

export function renderUnattendedUpgrades(o: UnattendedOptions = {}): string {
    const rebootTime = o.rebootTime ?? "03:30";
    if (!/^([01][0-9]|2[0-3]):[0-5][0-9]$/.test(rebootTime)) throw new Error(`unattended upgrades: rebootTime ${JSON.stringify(rebootTime)} must be HH:MM`);
    return [
        "// Managed by Pulumi (HOST-1): security updates from Debian, applied daily.",
        "Unattended-Upgrade::Origins-Pattern {",
        '    "origin=Debian,codename=${distro_codename},label=Debian-Security";',
        '    "origin=Debian,codename=${distro_codename}-security,label=Debian-Security";',
        "};",
        'Unattended-Upgrade::Remove-Unused-Kernel-Packages "true";',
        'Unattended-Upgrade::Remove-Unused-Dependencies "true";',
        `Unattended-Upgrade::Automatic-Reboot "${o.automaticReboot ? "true" : "false"}";`,
        `Unattended-Upgrade::Automatic-Reboot-Time "${rebootTime}";`,
        'Unattended-Upgrade::SyslogEnable "true";',
        "",
    ].join("\n");
}
