//! MITRE ATT&CK names for the technique and tactic ids rule tags use (`attack.t1059.004`,
//! `attack.execution`). The table covers the built-in pack and the SigmaHQ Linux rules, in both
//! ATT&CK v18 ids and the v19 ids that replaced some of them (Defense Evasion was split into
//! Stealth and Defense Impairment; several Impair Defenses sub-techniques became techniques).

/// Technique ids and names. v19-only ids carry their v18 predecessor in the name's note.
const TECHNIQUES: &[(&str, &str)] = &[
    ("T1003", "OS Credential Dumping"),
    ("T1003.007", "Proc Filesystem"),
    ("T1003.008", "/etc/passwd and /etc/shadow"),
    ("T1005", "Data from Local System"),
    ("T1007", "System Service Discovery"),
    ("T1014", "Rootkit"),
    ("T1016", "System Network Configuration Discovery"),
    ("T1018", "Remote System Discovery"),
    ("T1027", "Obfuscated Files or Information"),
    ("T1027.001", "Binary Padding"),
    ("T1027.003", "Steganography"),
    ("T1027.010", "Command Obfuscation"),
    ("T1027.011", "Fileless Storage"),
    ("T1030", "Data Transfer Size Limits"),
    ("T1033", "System Owner/User Discovery"),
    ("T1036", "Masquerading"),
    ("T1036.003", "Rename Legitimate Utilities"),
    ("T1036.004", "Masquerade Task or Service"),
    ("T1036.005", "Match Legitimate Resource Name or Location"),
    ("T1036.011", "Overwrite Process Arguments"),
    ("T1037.004", "RC Scripts"),
    ("T1040", "Network Sniffing"),
    ("T1041", "Exfiltration Over C2 Channel"),
    ("T1046", "Network Service Discovery"),
    ("T1048", "Exfiltration Over Alternative Protocol"),
    ("T1048.003", "Exfiltration Over Unencrypted Non-C2 Protocol"),
    ("T1049", "System Network Connections Discovery"),
    ("T1053.002", "At"),
    ("T1053.003", "Cron"),
    ("T1053.006", "Systemd Timers"),
    ("T1055.009", "Proc Memory"),
    ("T1056.001", "Keylogging"),
    ("T1057", "Process Discovery"),
    ("T1059", "Command and Scripting Interpreter"),
    ("T1059.003", "Windows Command Shell"),
    ("T1059.004", "Unix Shell"),
    ("T1059.006", "Python"),
    ("T1059.007", "JavaScript"),
    ("T1059.012", "Hypervisor CLI"),
    ("T1068", "Exploitation for Privilege Escalation"),
    ("T1069.001", "Local Groups"),
    ("T1070", "Indicator Removal"),
    ("T1070.002", "Clear Linux or Mac System Logs"),
    ("T1070.003", "Clear Command History"),
    ("T1070.004", "File Deletion"),
    ("T1070.006", "Timestomp"),
    ("T1071", "Application Layer Protocol"),
    ("T1071.001", "Web Protocols"),
    ("T1074.001", "Local Data Staging"),
    ("T1082", "System Information Discovery"),
    ("T1083", "File and Directory Discovery"),
    ("T1087.001", "Local Account"),
    ("T1090", "Proxy"),
    ("T1098", "Account Manipulation"),
    ("T1098.004", "SSH Authorized Keys"),
    ("T1102", "Web Service"),
    ("T1105", "Ingress Tool Transfer"),
    ("T1106", "Native API"),
    ("T1113", "Screen Capture"),
    ("T1115", "Clipboard Data"),
    ("T1119", "Automated Collection"),
    ("T1123", "Audio Capture"),
    ("T1133", "External Remote Services"),
    ("T1136", "Create Account"),
    ("T1136.001", "Local Account"),
    ("T1140", "Deobfuscate/Decode Files or Information"),
    ("T1190", "Exploit Public-Facing Application"),
    ("T1195.002", "Compromise Software Supply Chain"),
    ("T1201", "Password Policy Discovery"),
    ("T1203", "Exploitation for Client Execution"),
    ("T1204", "User Execution"),
    ("T1204.001", "Malicious Link"),
    ("T1204.002", "Malicious File"),
    ("T1212", "Exploitation for Credential Access"),
    ("T1219.002", "Remote Desktop Software"),
    (
        "T1222.002",
        "Linux and Mac File and Directory Permissions Modification",
    ),
    ("T1485", "Data Destruction"),
    ("T1489", "Service Stop"),
    ("T1496", "Resource Hijacking"),
    ("T1499", "Endpoint Denial of Service"),
    ("T1505.003", "Web Shell"),
    ("T1518.001", "Security Software Discovery"),
    ("T1529", "System Shutdown/Reboot"),
    ("T1531", "Account Access Removal"),
    ("T1543.002", "Systemd Service"),
    ("T1543.003", "Windows Service"),
    ("T1546.004", "Unix Shell Configuration Modification"),
    ("T1547.004", "Winlogon Helper DLL"),
    ("T1547.006", "Kernel Modules and Extensions"),
    ("T1548", "Abuse Elevation Control Mechanism"),
    ("T1548.001", "Setuid and Setgid"),
    ("T1548.003", "Sudo and Sudo Caching"),
    ("T1552", "Unsecured Credentials"),
    ("T1552.001", "Credentials In Files"),
    ("T1552.003", "Bash History"),
    ("T1552.004", "Private Keys"),
    ("T1552.005", "Cloud Instance Metadata API"),
    ("T1553.004", "Install Root Certificate"),
    ("T1554", "Compromise Host Software Binary"),
    ("T1560.001", "Archive via Utility"),
    ("T1562", "Impair Defenses"),
    ("T1562.001", "Disable or Modify Tools"),
    ("T1562.004", "Disable or Modify System Firewall"),
    ("T1562.012", "Disable or Modify Linux Audit System"),
    ("T1564", "Hide Artifacts"),
    ("T1564.001", "Hidden Files and Directories"),
    ("T1565.001", "Stored Data Manipulation"),
    ("T1567", "Exfiltration Over Web Service"),
    ("T1568.002", "Domain Generation Algorithms"),
    ("T1571", "Non-Standard Port"),
    ("T1572", "Protocol Tunneling"),
    ("T1573", "Encrypted Channel"),
    ("T1574.001", "DLL"),
    ("T1574.006", "Dynamic Linker Hijacking"),
    ("T1584", "Compromise Infrastructure"),
    ("T1587", "Develop Capabilities"),
    ("T1588.001", "Malware"),
    ("T1589", "Gather Victim Identity Information"),
    ("T1592.004", "Client Configurations"),
    ("T1593.003", "Code Repositories"),
    ("T1620", "Reflective Code Loading"),
    ("T1653", "Power Settings"),
    // ATT&CK v19 (Defense Impairment), successors of T1562.* and T1070.002 in v18.
    ("T1685", "Disable or Modify Tools"),
    ("T1685.004", "Disable or Modify Linux Audit System"),
    ("T1685.006", "Clear Linux or Mac System Logs"),
    ("T1686", "Disable or Modify System Firewall"),
    ("T1690", "Impair Logging Configuration"),
];

/// Tactic tag names (`attack.<tag>`) and their display names, v18 and v19.
const TACTICS: &[(&str, &str)] = &[
    ("reconnaissance", "Reconnaissance"),
    ("resource-development", "Resource Development"),
    ("resource_development", "Resource Development"),
    ("initial-access", "Initial Access"),
    ("initial_access", "Initial Access"),
    ("execution", "Execution"),
    ("persistence", "Persistence"),
    ("privilege-escalation", "Privilege Escalation"),
    ("privilege_escalation", "Privilege Escalation"),
    ("defense-evasion", "Defense Evasion"),
    ("defense_evasion", "Defense Evasion"),
    ("stealth", "Stealth"),
    ("defense-impairment", "Defense Impairment"),
    ("credential-access", "Credential Access"),
    ("credential_access", "Credential Access"),
    ("discovery", "Discovery"),
    ("lateral-movement", "Lateral Movement"),
    ("lateral_movement", "Lateral Movement"),
    ("collection", "Collection"),
    ("command-and-control", "Command and Control"),
    ("command_and_control", "Command and Control"),
    ("exfiltration", "Exfiltration"),
    ("impact", "Impact"),
];

/// A technique referenced by a rule tag.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Technique {
    /// Upper-case id (`T1059.004`).
    pub id: String,
    /// Its name, when the table knows it.
    pub name: Option<&'static str>,
}

/// Techniques and tactics named by a rule's tags, in tag order, without duplicates.
pub fn from_tags(tags: &[String]) -> (Vec<Technique>, Vec<&'static str>) {
    let mut techniques: Vec<Technique> = Vec::new();
    let mut tactics: Vec<&'static str> = Vec::new();
    for tag in tags {
        let Some(rest) = tag.strip_prefix("attack.") else {
            continue;
        };
        let lower = rest.to_ascii_lowercase();
        if lower
            .strip_prefix('t')
            .is_some_and(|r| r.starts_with(|c: char| c.is_ascii_digit()))
        {
            let id = lower.to_ascii_uppercase();
            let name = TECHNIQUES.iter().find(|(t, _)| *t == id).map(|&(_, n)| n);
            if !techniques.iter().any(|t| t.id == id) {
                techniques.push(Technique { id, name });
            }
        } else if let Some(&(_, name)) = TACTICS.iter().find(|(t, _)| *t == lower)
            && !tactics.contains(&name)
        {
            tactics.push(name);
        }
    }
    (techniques, tactics)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_become_techniques_and_tactics() {
        let tags: Vec<String> = [
            "attack.execution",
            "attack.t1059.004",
            "attack.T1685",
            "attack.g0045",
            "cve.2021-1",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        let (tech, tactics) = from_tags(&tags);
        assert_eq!(tactics, vec!["Execution"]);
        assert_eq!(tech.len(), 2, "groups (g0045) are not techniques");
        assert_eq!(tech[0].id, "T1059.004");
        assert_eq!(tech[0].name, Some("Unix Shell"));
        assert_eq!(tech[1].name, Some("Disable or Modify Tools"));
    }
}
