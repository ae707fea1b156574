# certwarden-agent 1
# The only certwarden code that runs on Windows (Windows PowerShell 5.1).
# Contract: docs/agent-protocol.md. It gathers data and executes primitive
# steps with values taken from the request object; it makes no decisions.
# Every value in the response is a plain string, bool, int, list or null,
# converted here on the server.
#
# Windows PowerShell 5.1 quirks handled here:
# * a function's output is unrolled: a one-element array comes back as the
#   element and an empty one as $null. Functions here emit items and every
#   caller wraps them in @(...); hashtable values hold those arrays.
# * ConvertTo-Json: default -Depth 2 silently turns deeper objects into
#   strings (we pass -Depth 10 and only ever serialise hashtables, arrays and
#   primitives, never .NET objects, so depth cannot explode); enums, chars and
#   DateTimes are not written as strings (we convert with [string] and
#   explicit formats); an array wrapped in PSObject is written as
#   {"value":[...],"Count":n} when System.Array type data is loaded (removed
#   below); non-ASCII characters are written raw, so we escape them as \uXXXX
#   to be independent of the console code page.
# * ConvertFrom-Json returns PSCustomObject (missing properties read as $null)
#   and, in PowerShell 7 only, turns ISO dates into DateTime: both handled.
# * String.StartsWith/IndexOf are culture-aware in .NET Framework: ordinal
#   comparison is used where it matters.
# * Commands imported from a remote session (implicit remoting) read the
#   global $ErrorActionPreference, not this script's: every Exchange and IIS
#   cmdlet gets -ErrorAction Stop explicitly.
# * .NET errors from method calls arrive wrapped in MethodInvocationException:
#   the inner exception gives the category and the message.
param([string]$RequestJson)

$ErrorActionPreference = 'Stop'
$ProgressPreference = 'SilentlyContinue'
$AgentVersion = '1'
$Invariant = [System.Globalization.CultureInfo]::InvariantCulture
$TimeFormat = "yyyy-MM-dd'T'HH:mm:ss'Z'"
$ExchangeActions = @('enable_services', 'set_connector', 'set_hybrid', 'set_protocol_logging')
$ExchangeSetupKey = 'HKLM:\SOFTWARE\Microsoft\ExchangeServer\v15\Setup'
$ExchangeEdgeKey = 'HKLM:\SOFTWARE\Microsoft\ExchangeServer\v15\EdgeTransportRole'
# Every Exchange cmdlet this script calls (a remote session imports only these).
$ExchangeCmdlets = @('Get-ExchangeServer', 'Get-ExchangeCertificate', 'Enable-ExchangeCertificate',
    'Get-SendConnector', 'Set-SendConnector', 'Get-ReceiveConnector', 'Set-ReceiveConnector',
    'Get-TransportService', 'Get-FrontendTransportService', 'Get-HybridConfiguration', 'Set-HybridConfiguration',
    'Get-AuthConfig', 'Get-FederationTrust')
$ExchangeReadCmdlets = @('Get-ExchangeServer', 'Get-ExchangeCertificate', 'Get-SendConnector',
    'Get-ReceiveConnector', 'Get-TransportService')
# Per run, read by the functions below through PowerShell's dynamic scoping
# (never $script: or $global:, which psrp's reused runspace would keep).
$AgentState = @{ credential = $null; load = $null }
$StepActions = @('install_intermediate', 'install_root', 'import_certificate', 'import_pfx', 'enable_services',
    'set_connector', 'set_hybrid', 'set_iis_binding', 'set_protocol_logging', 'backup', 'remove', 'restart_service')
try { Remove-TypeData -TypeName System.Array -ErrorAction Stop } catch { }

function New-AgentError([string]$Category, [string]$Message) {
    $exception = New-Object System.Exception $Message
    $exception.Data['certwarden_category'] = $Category
    return $exception
}

function Get-InnerException([System.Exception]$Exception) {
    while ($Exception -is [System.Management.Automation.MethodInvocationException] -and $null -ne $Exception.InnerException) {
        $Exception = $Exception.InnerException
    }
    return $Exception
}

function Get-ErrorCategory([System.Exception]$Exception) {
    $Exception = Get-InnerException $Exception
    if ($Exception.Data.Contains('certwarden_category')) { return $Exception.Data['certwarden_category'] }
    if ($Exception -is [System.UnauthorizedAccessException]) { return 'access_denied' }
    if ($Exception.HResult -eq -2147024891) { return 'access_denied' }  # 0x80070005 E_ACCESSDENIED
    return 'internal'
}

function ConvertTo-NullableString($Value) {
    if ($null -eq $Value) { return $null }
    return [string]$Value
}

# Exchange prints flag sets and multi-valued properties as "A, B, C".
function Split-List($Value) {
    foreach ($item in ([string]$Value).Split(',')) {
        $trimmed = $item.Trim()
        if ($trimmed -and $trimmed -ne 'None') { $trimmed }
    }
}

function Get-StringList($Values) {
    foreach ($value in $Values) { if ($null -ne $value) { [string]$value } }
}

function Get-Field($Step, [string]$Name) {
    $value = $Step.$Name
    if ($null -eq $value) { throw "the step has no '$Name'" }
    return $value
}

function Format-Time([datetime]$Time) {
    return $Time.ToUniversalTime().ToString($TimeFormat, $Invariant)
}

# ---------------------------------------------------------------- stores

function Open-Store([string]$Name, [bool]$Write) {
    $flags = [System.Security.Cryptography.X509Certificates.OpenFlags]::OpenExistingOnly
    if ($Write) { $flags = $flags -bor [System.Security.Cryptography.X509Certificates.OpenFlags]::ReadWrite }
    $location = [System.Security.Cryptography.X509Certificates.StoreLocation]::LocalMachine
    $store = New-Object System.Security.Cryptography.X509Certificates.X509Store -ArgumentList $Name, $location
    $store.Open($flags)
    return $store
}

function Find-Certificate($Store, [string]$Thumbprint) {
    foreach ($certificate in $Store.Certificates) {
        if ([string]::Equals($certificate.Thumbprint, $Thumbprint, [StringComparison]::OrdinalIgnoreCase)) {
            $certificate
        }
    }
}

function Get-PrivateKey($Certificate) {
    if (-not $Certificate.HasPrivateKey) { return $null }
    try {
        $key = [System.Security.Cryptography.X509Certificates.RSACertificateExtensions]::GetRSAPrivateKey($Certificate)
        if ($null -eq $key) {
            $key = [System.Security.Cryptography.X509Certificates.ECDsaCertificateExtensions]::GetECDsaPrivateKey($Certificate)
        }
        return $key
    }
    catch { return $null }
}

# $null when there is no key or its export policy cannot be read.
function Get-KeyExportable($Certificate) {
    $key = Get-PrivateKey $Certificate
    if ($null -eq $key) { return $null }
    try {
        if ($key -is [System.Security.Cryptography.ICspAsymmetricAlgorithm]) {
            return [bool]$key.CspKeyContainerInfo.Exportable
        }
        $policy = $key.Key.ExportPolicy
        return [bool]($policy -band [System.Security.Cryptography.CngExportPolicies]::AllowPlaintextExport) -or
            [bool]($policy -band [System.Security.Cryptography.CngExportPolicies]::AllowExport)
    }
    catch { return $null }
}

function ConvertTo-CertEntry($Certificate) {
    [ordered]@{
        thumbprint             = $Certificate.Thumbprint.ToUpperInvariant()
        der_b64                = [Convert]::ToBase64String($Certificate.RawData)
        subject                = [string]$Certificate.Subject
        issuer                 = [string]$Certificate.Issuer
        has_private_key        = [bool]$Certificate.HasPrivateKey
        private_key_exportable = Get-KeyExportable $Certificate
        friendly_name          = [string]$Certificate.FriendlyName
    }
}

function Read-Store([string]$Name) {
    $store = Open-Store $Name $false
    try { foreach ($certificate in $store.Certificates) { ConvertTo-CertEntry $certificate } }
    finally { $store.Close() }
}

# ---------------------------------------------------------------- Exchange

function New-ExchangeCredential($Value) {
    if ($null -eq $Value -or -not $Value.user) { return $null }
    $secure = ConvertTo-SecureString -String ([string]$Value.password) -AsPlainText -Force
    return New-Object System.Management.Automation.PSCredential -ArgumentList ([string]$Value.user), $secure
}

# A pattern that matches exactly one name: Import-PSSession fails on a listed
# name the account's RBAC roles do not expose, never on a wildcard that matches nothing.
function Get-ExactPattern([string]$Name) {
    return $Name.Substring(0, $Name.Length - 1) + '[' + $Name.Substring($Name.Length - 1) + ']'
}

function Get-CmdletPresence {
    $presence = [ordered]@{}
    foreach ($name in $ExchangeCmdlets) { $presence[$name] = [bool](Get-Command -Name $name -ErrorAction SilentlyContinue) }
    return $presence
}

# The local server's own remote PowerShell endpoint (Kerberos); an explicit
# credential reaches Active Directory where the WinRM logon cannot delegate.
function Import-ExchangeSession {
    $session = @{ ConfigurationName = 'Microsoft.Exchange'; ConnectionUri = 'http://' + (Get-Fqdn) + '/PowerShell/'
        Authentication = 'Kerberos'; ErrorAction = 'Stop' }
    if ($null -ne $AgentState.credential) { $session['Credential'] = $AgentState.credential }
    $remote = New-PSSession @session
    $AgentState.load.stage = 'import'
    $names = @(foreach ($name in $ExchangeCmdlets) { Get-ExactPattern $name })
    $module = Import-PSSession -Session $remote -CommandName $names -DisableNameChecking -AllowClobber -ErrorAction Stop -WarningAction SilentlyContinue
    $null = Import-Module -ModuleInfo $module -Global -DisableNameChecking -ErrorAction Stop -WarningAction SilentlyContinue
}

# Once per run: the cmdlets when the session has them; on Edge Transport the
# snap-in; else a remote session to this server. RemoteExchange.ps1 is not
# used: it writes a banner and tips to the output and resizes the console.
function Import-Exchange {
    if ($null -ne $AgentState.load) { return $AgentState.load }
    $installed = Test-Path -LiteralPath $ExchangeSetupKey
    $role = $null
    if ($installed) { $role = 'Mailbox'; if (Test-Path -LiteralPath $ExchangeEdgeKey) { $role = 'Edge' } }
    $AgentState.load = [ordered]@{ installed = $installed; role = $role; method = $null; milliseconds = 0
        stage = 'session'; cause = $null; message = $null; cmdlets = $null }
    $load = $AgentState.load
    $clock = [System.Diagnostics.Stopwatch]::StartNew()
    try {
        if (Get-Command -Name Get-ExchangeCertificate -ErrorAction SilentlyContinue) { $load.method = 'session' }
        elseif ($role -eq 'Edge') {
            $load.stage = 'snapin'
            $null = Add-PSSnapin -Name Microsoft.Exchange.Management.PowerShell.SnapIn -ErrorAction Stop
            $load.method = 'snapin'
        }
        elseif ($installed) {
            $load.stage = 'connect'
            $null = Import-ExchangeSession
            $load.method = 'remote_delegated'
            if ($null -ne $AgentState.credential) { $load.method = 'remote_credential' }
        }
    }
    catch {
        $inner = Get-InnerException $_.Exception
        $load.message = $inner.Message
        $load.cause = 'shell_load'
        if ($load.stage -eq 'connect') {
            $load.cause = 'endpoint_unreachable'
            # Without a credential to pass on, Kerberos to the local endpoint fails with
            # 0x8009030e (SEC_E_NO_CREDENTIALS, "A specified logon session does not exist").
            if ($inner.Message -match 'Access is denied|0x80070005|0x8009030e|logon session does not exist') {
                $load.cause = 'access_denied'
                if ($null -eq $AgentState.credential) { $load.cause = 'double_hop' }
            }
        }
    }
    $load.milliseconds = [int]$clock.ElapsedMilliseconds
    $load.Remove('stage')
    if ($load.method) { $load.cmdlets = Get-CmdletPresence }
    return $load
}

function Assert-ExchangeLoaded {
    $load = Import-Exchange
    if ($load.installed -and -not $load.method) {
        throw (New-AgentError 'exchange_unavailable' "Exchange is installed on $env:COMPUTERNAME but its cmdlets could not be loaded ($($load.cause)): $($load.message)")
    }
    return $load
}

function Assert-Cmdlets($Load, [string[]]$Names) {
    $missing = @(foreach ($name in $Names) { if (-not $Load.cmdlets[$name]) { $name } })
    if ($missing.Count -gt 0) {
        throw (New-AgentError 'exchange_unavailable' "Exchange on $env:COMPUTERNAME does not expose $($missing -join ', ') to this account (rbac): its management roles do not include them")
    }
}

function Assert-Exchange {
    $load = Assert-ExchangeLoaded
    if (-not $load.installed) {
        throw (New-AgentError 'exchange_unavailable' "the Exchange management tools are not available on $env:COMPUTERNAME")
    }
}

function ConvertTo-SendConnector($Connector) {
    [ordered]@{
        identity                    = [string]$Connector.Identity
        name                        = [string]$Connector.Name
        fqdn                        = ConvertTo-NullableString $Connector.Fqdn
        tls_certificate_name        = ConvertTo-NullableString $Connector.TlsCertificateName
        require_tls                 = [bool]$Connector.RequireTLS
        tls_auth_level              = ConvertTo-NullableString $Connector.TlsAuthLevel
        tls_domain                  = ConvertTo-NullableString $Connector.TlsDomain
        cloud_services_mail_enabled = [bool]$Connector.CloudServicesMailEnabled
        smart_hosts                 = @(Get-StringList $Connector.SmartHosts)
        source_transport_servers    = @(Get-StringList $Connector.SourceTransportServers)
        protocol_logging_level      = [string]$Connector.ProtocolLoggingLevel
        enabled                     = [bool]$Connector.Enabled
    }
}

function ConvertTo-ReceiveConnector($Connector) {
    [ordered]@{
        identity               = [string]$Connector.Identity
        name                   = [string]$Connector.Name
        server                 = [string]$Connector.Server
        fqdn                   = ConvertTo-NullableString $Connector.Fqdn
        tls_certificate_name   = ConvertTo-NullableString $Connector.TlsCertificateName
        auth_mechanism         = @(Split-List $Connector.AuthMechanism)
        bindings               = @(Get-StringList $Connector.Bindings)
        protocol_logging_level = [string]$Connector.ProtocolLoggingLevel
        enabled                = [bool]$Connector.Enabled
    }
}

# A certificate whose remote serialization failed arrives with RawData only:
# rebuilt from it, as CSS-Exchange does, so that no entry has an empty thumbprint.
function Get-ExchangeCertificateThumbprint($Certificate) {
    if ($Certificate.Thumbprint) { return ([string]$Certificate.Thumbprint).ToUpperInvariant() }
    if ($null -eq $Certificate.RawData) { throw 'Get-ExchangeCertificate returned a certificate with neither Thumbprint nor RawData' }
    $rebuilt = New-Object System.Security.Cryptography.X509Certificates.X509Certificate2 -ArgumentList (, [byte[]]$Certificate.RawData)
    return $rebuilt.Thumbprint.ToUpperInvariant()
}

function Get-TransportEntry([string]$Server, [string]$Role) {
    $transport = Get-TransportService -Identity $Server -ErrorAction Stop
    $entry = [ordered]@{
        internal_transport_certificate_thumbprint = ConvertTo-NullableString $transport.InternalTransportCertificateThumbprint
        send_protocol_log_path                    = ConvertTo-NullableString $transport.SendProtocolLogPath
        receive_protocol_log_path                 = ConvertTo-NullableString $transport.ReceiveProtocolLogPath
        frontend_send_protocol_log_path           = $null
        frontend_receive_protocol_log_path        = $null
    }
    # The Front End Transport service (not on Edge) logs the hybrid inbound "Default Frontend" connector and proxied sends.
    if ($Role -ne 'Edge') {
        $frontend = Get-FrontendTransportService -Identity $Server -ErrorAction Stop
        $entry.frontend_send_protocol_log_path = ConvertTo-NullableString $frontend.SendProtocolLogPath
        $entry.frontend_receive_protocol_log_path = ConvertTo-NullableString $frontend.ReceiveProtocolLogPath
    }
    return $entry
}

function Get-HybridEntry {
    $hybrid = Get-HybridConfiguration -ErrorAction Stop
    if ($null -eq $hybrid) { return $null }
    return [ordered]@{
        tls_certificate_name        = ConvertTo-NullableString $hybrid.TlsCertificateName
        sending_transport_servers   = @(Get-StringList $hybrid.SendingTransportServers)
        receiving_transport_servers = @(Get-StringList $hybrid.ReceivingTransportServers)
        edge_transport_servers      = @(Get-StringList $hybrid.EdgeTransportServers)
    }
}

# AuthConfig and each federation trust name three certificates: the one in use, the one staged to replace
# it and the one it replaced. These are bindings no connector or service shows.
function New-RotationEntry($Current, $Next, $Previous) {
    return [ordered]@{
        current  = ConvertTo-NullableString $Current
        next     = ConvertTo-NullableString $Next
        previous = ConvertTo-NullableString $Previous
    }
}

# Which of an entry's roles name the thumbprint (the removal's re-check).
function Get-RotationRoles($Entry, [string]$Thumbprint) {
    foreach ($role in @('current', 'next', 'previous')) { if ($Entry[$role] -eq $Thumbprint) { $role } }
}

# Neither cmdlet exists on Edge Transport; an account's roles may not expose them (the read then says null).
function Test-CmdletReadable($Load, [string]$Name) {
    return ($Load.role -ne 'Edge' -and [bool]$Load.cmdlets[$Name])
}

# The OAuth certificate Exchange signs server-to-server tokens with (Set-AuthConfig -NewCertificateThumbprint
# stages the next one).
function Get-AuthEntry {
    $config = Get-AuthConfig -ErrorAction Stop
    return New-RotationEntry $config.CurrentCertificateThumbprint $config.NextCertificateThumbprint $config.PreviousCertificateThumbprint
}

# Each federation trust's certificates (hybrid free/busy through the Microsoft Federation Gateway;
# Set-FederationTrust -Thumbprint stages the next one). Two entries per trust: its thumbprint strings, and
# its certificate objects' thumbprints (a remote session may return those objects without their
# properties). Callers wrap the output in @(...): no trust at all unrolls to $null.
function Get-FederationEntries {
    foreach ($trust in @(Get-FederationTrust -ErrorAction Stop)) {
        New-RotationEntry $trust.OrgPrivCertificate $trust.OrgNextPrivCertificate $trust.OrgPrevPrivCertificate
        New-RotationEntry $trust.OrgCertificate.Thumbprint $trust.OrgNextCertificate.Thumbprint $trust.OrgPrevCertificate.Thumbprint
    }
}

function Read-Exchange($Load) {
    if (-not $Load.method) { return $null }
    $readCmdlets = $ExchangeReadCmdlets
    if ($Load.role -ne 'Edge') { $readCmdlets = $readCmdlets + @('Get-FrontendTransportService', 'Get-HybridConfiguration') }
    Assert-Cmdlets $Load $readCmdlets
    $server = $env:COMPUTERNAME
    $certificates = foreach ($certificate in @(Get-ExchangeCertificate -Server $server -ErrorAction Stop)) {
        [ordered]@{
            thumbprint   = Get-ExchangeCertificateThumbprint $certificate
            services     = @(Split-List $certificate.Services)
            status       = [string]$certificate.Status
            root_ca_type = [string]$certificate.RootCAType
        }
    }
    # Edge Transport has no hybrid configuration (the cmdlet does not exist there).
    $hybridEntry = $null
    if ($Load.role -ne 'Edge') { $hybridEntry = Get-HybridEntry }
    $auth = $null
    if (Test-CmdletReadable $Load 'Get-AuthConfig') { $auth = Get-AuthEntry }
    $federation = $null
    if (Test-CmdletReadable $Load 'Get-FederationTrust') { $federation = @(Get-FederationEntries) }
    [ordered]@{
        server               = $server
        role                 = $Load.role
        version              = [string](Get-ExchangeServer -Identity $server -ErrorAction Stop).AdminDisplayVersion
        certificates         = @($certificates)
        send_connectors      = @(foreach ($c in @(Get-SendConnector -ErrorAction Stop)) { ConvertTo-SendConnector $c })
        receive_connectors   = @(foreach ($c in @(Get-ReceiveConnector -Server $server -ErrorAction Stop)) { ConvertTo-ReceiveConnector $c })
        hybrid_configuration = $hybridEntry
        auth_config          = $auth
        federation_trusts    = $federation
        transport_service    = Get-TransportEntry $server $Load.role
    }
}

# ---------------------------------------------------------------- IIS

function Import-WebAdministration {
    if (-not (Get-Module -ListAvailable -Name WebAdministration)) { return $false }
    Import-Module -Name WebAdministration -ErrorAction Stop
    return $true
}

# bindingInformation is "ip:port:host"; the ip may be "[::1]", the host never has ':'.
function ConvertTo-IisBinding([string]$Site, $Binding) {
    $information = [string]$Binding.bindingInformation
    $hostSplit = $information.LastIndexOf(':')
    $address = $information.Substring(0, $hostSplit)
    $hash = [string]$Binding.certificateHash
    $thumbprint = $null
    if ($hash) { $thumbprint = $hash.ToUpperInvariant() }
    # IIS writes the store as "MY", "My" or nothing for the personal store.
    $store = $null
    if ($thumbprint) {
        $store = [string]$Binding.certificateStoreName
        if (-not $store -or $store -eq 'My') { $store = 'My' }
    }
    [ordered]@{
        site        = $Site
        binding     = $information
        port        = [int]$address.Substring($address.LastIndexOf(':') + 1)
        host_header = $information.Substring($hostSplit + 1)
        thumbprint  = $thumbprint
        store       = $store
    }
}

function Read-IisBindings {
    if (-not (Import-WebAdministration)) { return }
    foreach ($site in @(Get-Website -ErrorAction Stop)) {
        foreach ($binding in @(Get-WebBinding -Name $site.name -Protocol https -ErrorAction Stop)) {
            ConvertTo-IisBinding ([string]$site.name) $binding
        }
    }
}

# http.sys SSL bindings that no IIS site binding owns (a WinRM HTTPS listener, ADFS, a vendor console):
# what "netsh http show sslcert" lists, read through the IIS provider (IIS:\SslBindings lists every
# IP:port and hostname:port binding, IIS's own included) so no localised netsh text is parsed.
# $IisBindings: what Read-IisBindings returned in this run, which owns the IIS sites' own entries.
function Read-HttpSysBindings($IisBindings) {
    if (-not (Import-WebAdministration)) { return }
    $owned = @{}
    foreach ($binding in @($IisBindings)) {
        $address = $binding.binding.Substring(0, $binding.binding.LastIndexOf(':'))
        $ip = $address.Substring(0, $address.LastIndexOf(':')).Trim('[', ']')
        if ($ip -eq '*') { $ip = '0.0.0.0' }
        $owned[($ip + ':' + $binding.port).ToLowerInvariant()] = $true
        if ($binding.host_header) { $owned[($binding.host_header + ':' + $binding.port).ToLowerInvariant()] = $true }
    }
    foreach ($entry in @(Get-ChildItem -Path 'IIS:\SslBindings' -ErrorAction Stop)) {
        $endpoint = [string]$entry.IPAddress + ':' + [string]$entry.Port
        if ([string]$entry.Host) { $endpoint = [string]$entry.Host + ':' + [string]$entry.Port }
        if ($owned[$endpoint.ToLowerInvariant()] -or -not [string]$entry.Thumbprint) { continue }
        $store = [string]$entry.Store
        if (-not $store) { $store = 'My' }
        [ordered]@{ endpoint = $endpoint; thumbprint = ([string]$entry.Thumbprint).ToUpperInvariant(); store = $store }
    }
}

# ---------------------------------------------------------------- read

function Get-Fqdn {
    $properties = [System.Net.NetworkInformation.IPGlobalProperties]::GetIPGlobalProperties()
    $fqdn = $properties.HostName
    if ($properties.DomainName) { $fqdn = $properties.HostName + '.' + $properties.DomainName }
    return $fqdn.ToLowerInvariant()
}

function Get-OptionalValue([string]$Path, [string]$Name) {
    try { return (Get-ItemProperty -LiteralPath $Path -Name $Name -ErrorAction Stop).$Name } catch { return $null }
}

function Get-WinRmQuota([string]$Path) {
    try { return [int](Get-Item -LiteralPath $Path -ErrorAction Stop).Value } catch { return $null }
}

function Get-HostInfo {
    $version = Get-ItemProperty -LiteralPath 'HKLM:\SOFTWARE\Microsoft\Windows NT\CurrentVersion'
    $identity = [System.Security.Principal.WindowsIdentity]::GetCurrent()
    [ordered]@{
        computer_name      = $env:COMPUTERNAME
        fqdn               = Get-Fqdn
        time_utc           = Format-Time ([datetime]::UtcNow)
        os                 = [string]$version.ProductName
        os_build           = [int]$version.CurrentBuildNumber
        powershell_version = [string]$PSVersionTable.PSVersion
        dotnet_release     = Get-OptionalValue 'HKLM:\SOFTWARE\Microsoft\NET Framework Setup\NDP\v4\Full' 'Release'
        fips_policy        = [bool](Get-OptionalValue 'HKLM:\SYSTEM\CurrentControlSet\Control\Lsa\FipsAlgorithmPolicy' 'Enabled')
        logon              = [ordered]@{
            user                = [string]$identity.Name
            user_sid            = [string]$identity.User.Value
            authentication_type = [string]$identity.AuthenticationType
            impersonation_level = [string]$identity.ImpersonationLevel
        }
        winrm              = [ordered]@{
            max_memory_per_shell_mb = Get-WinRmQuota 'WSMan:\localhost\Shell\MaxMemoryPerShellMB'
            max_envelope_size_kb    = Get-WinRmQuota 'WSMan:\localhost\MaxEnvelopeSizekb'
        }
    }
}

# Where this server keeps Windows, Program Files and Exchange. ExchangeInstallPath is the machine
# variable Exchange setup sets; read from the machine scope, which a WinRM host started before setup lacks.
function Get-ServerFolders {
    [ordered]@{
        windows           = ConvertTo-NullableString $env:SystemRoot
        program_files     = ConvertTo-NullableString $env:ProgramFiles
        program_files_x86 = ConvertTo-NullableString ${env:ProgramFiles(x86)}
        exchange_install  = ConvertTo-NullableString ([Environment]::GetEnvironmentVariable('ExchangeInstallPath', 'Machine'))
    }
}

# A folder's facts: what it is, its owner and DACL (as SDDL, and as rules with SIDs), and which of
# the folders above it are junctions or symbolic links (files below one land elsewhere).
function Get-FolderFacts([string]$Path) {
    $facts = [ordered]@{ path = $Path; exists = $false; directory = $false; reparse_point = $false
        reparse_parents = @(); protected = $false; owner = $null; sddl = $null; rules = @() }
    $facts.reparse_parents = @(for ($parent = [System.IO.Path]::GetDirectoryName($Path); $parent; $parent = [System.IO.Path]::GetDirectoryName($parent)) {
            if ((Test-Path -LiteralPath $parent) -and ((Get-Item -LiteralPath $parent -Force).Attributes -band [System.IO.FileAttributes]::ReparsePoint)) { $parent }
        })
    if (-not (Test-Path -LiteralPath $Path)) { return $facts }
    $item = Get-Item -LiteralPath $Path -Force
    $sections = [System.Security.AccessControl.AccessControlSections]'Access, Owner'
    $acl = $item.GetAccessControl($sections)
    $facts.exists = $true
    $facts.directory = [bool]$item.PSIsContainer
    $facts.reparse_point = [bool]($item.Attributes -band [System.IO.FileAttributes]::ReparsePoint)
    $facts.protected = [bool]$acl.AreAccessRulesProtected
    $facts.owner = [string]$acl.GetOwner([System.Security.Principal.SecurityIdentifier]).Value
    $facts.sddl = $acl.GetSecurityDescriptorSddlForm($sections)
    $facts.rules = @(foreach ($rule in $acl.GetAccessRules($true, $true, [System.Security.Principal.SecurityIdentifier])) {
            [ordered]@{ sid = [string]$rule.IdentityReference.Value; rights = [string]$rule.FileSystemRights
                type = [string]$rule.AccessControlType; inherited = [bool]$rule.IsInherited }
        })
    return $facts
}

function Invoke-Read($Options) {
    $stores = [ordered]@{}
    foreach ($name in @('My', 'CA', 'Root', 'AuthRoot')) { $stores[$name] = @(Read-Store $name) }
    $load = Assert-ExchangeLoaded
    $hostInfo = Get-HostInfo
    $hostInfo.folders = Get-ServerFolders
    $iisBindings = @(Read-IisBindings)
    $backupFolder = $null
    if ($Options.backup_directory) { $backupFolder = Get-FolderFacts ([string]$Options.backup_directory) }
    [ordered]@{
        host          = $hostInfo
        stores        = $stores
        exchange      = Read-Exchange $load
        exchange_load = $load
        iis_bindings  = $iisBindings
        http_sys_bindings = @(Read-HttpSysBindings $iisBindings)
        backup_folder = $backupFolder
    }
}

# ---------------------------------------------------------------- apply steps
# Each returns @{ changed = bool; data = ... } and throws on failure.

function Add-ToStore([string]$StoreName, [string]$Thumbprint, [byte[]]$Bytes) {
    $certificate = New-Object System.Security.Cryptography.X509Certificates.X509Certificate2 -ArgumentList (, $Bytes)
    if ($certificate.Thumbprint -ne $Thumbprint) { throw "the certificate bytes have thumbprint $($certificate.Thumbprint), not $Thumbprint" }
    $store = Open-Store $StoreName $true
    try {
        if (@(Find-Certificate $store $Thumbprint).Count -gt 0) { return @{ changed = $false } }
        $store.Add($certificate)
        return @{ changed = $true }
    }
    finally { $store.Close() }
}

function Step-ImportPfx($Step) {
    $thumbprint = Get-Field $Step 'thumbprint'
    $bytes = [Convert]::FromBase64String((Get-Field $Step 'pfx_b64'))
    $X509 = 'System.Security.Cryptography.X509Certificates.X509Certificate2'
    $store = Open-Store 'My' $true
    try {
        foreach ($existing in @(Find-Certificate $store $thumbprint)) {
            if ($existing.HasPrivateKey) { return @{ changed = $false } }
        }
        # Checked with a key that is not persisted: a wrong PFX leaves no key behind.
        $probe = New-Object $X509 -ArgumentList $bytes, ([string]$Step.password), ([System.Security.Cryptography.X509Certificates.X509KeyStorageFlags]'MachineKeySet')
        try {
            if ($probe.Thumbprint -ne $thumbprint) { throw "the PFX holds thumbprint $($probe.Thumbprint), not $thumbprint" }
            if (-not $probe.HasPrivateKey) { throw "the PFX for $thumbprint holds no private key" }
        }
        finally { $probe.Reset() }
        $flags = [System.Security.Cryptography.X509Certificates.X509KeyStorageFlags]'MachineKeySet,PersistKeySet,Exportable'
        $certificate = New-Object $X509 -ArgumentList $bytes, ([string]$Step.password), $flags
        $store.Add($certificate)
        return @{ changed = $true }
    }
    finally { $store.Close() }
}

# Get-ExchangeCertificate may list services that are not enabled: IIS is also
# checked against the Default Web Site's https binding when IIS can be read.
function Test-IisServesCertificate([string]$Thumbprint) {
    if (-not (Import-WebAdministration)) { return $true }
    foreach ($binding in @(Get-WebBinding -Name 'Default Web Site' -Protocol https -ErrorAction Stop)) {
        if ([string]::Equals([string]$binding.certificateHash, $Thumbprint, [StringComparison]::OrdinalIgnoreCase)) { return $true }
    }
    return $false
}

# Only the missing services are enabled. -DoNotRequireSsl: enabling IIS would
# otherwise turn on "Require SSL" for the Default Web Site. -Force replaces the
# internal transport (default SMTP) certificate, so it is passed only when the
# step says so.
function Step-EnableServices($Step) {
    $thumbprint = [string](Get-Field $Step 'thumbprint')
    $wanted = @(Get-StringList (Get-Field $Step 'services'))
    $current = @(Split-List (Get-ExchangeCertificate -Server $env:COMPUTERNAME -Thumbprint $thumbprint -ErrorAction Stop).Services)
    $replace = $Step.replace_internal_transport -eq $true
    if ($replace) {
        $internal = [string](Get-TransportService -Identity $env:COMPUTERNAME -ErrorAction Stop).InternalTransportCertificateThumbprint
        if ([string]::Equals($internal, $thumbprint, [StringComparison]::OrdinalIgnoreCase)) { $replace = $false }
    }
    $missing = @(foreach ($service in $wanted) {
            if ($current -notcontains $service -or ($service -eq 'IIS' -and -not (Test-IisServesCertificate $thumbprint)) -or
                ($service -eq 'SMTP' -and $replace)) { $service }
        })
    if ($missing.Count -eq 0) { return @{ changed = $false } }
    $enable = @{ Server = $env:COMPUTERNAME; Thumbprint = $thumbprint; Services = ($missing -join ','); DoNotRequireSsl = $true
        Confirm = $false; ErrorAction = 'Stop' }
    if ($replace) { $enable['Force'] = $true }
    $null = Enable-ExchangeCertificate @enable
    return @{ changed = $true }
}

function Get-Connector([string]$Kind, [string]$Identity) {
    switch ($Kind) {
        'send' { return Get-SendConnector -Identity $Identity -ErrorAction Stop }
        'receive' { return Get-ReceiveConnector -Identity $Identity -ErrorAction Stop }
        default { throw "kind must be 'send' or 'receive', not '$Kind'" }
    }
}

function Set-Connector([string]$Kind, [string]$Identity, [hashtable]$Settings) {
    switch ($Kind) {
        'send' { Set-SendConnector -Identity $Identity @Settings -Confirm:$false -ErrorAction Stop }
        'receive' { Set-ReceiveConnector -Identity $Identity @Settings -Confirm:$false -ErrorAction Stop }
    }
}

function Step-SetConnector($Step) {
    $kind = [string](Get-Field $Step 'kind')
    $identity = [string](Get-Field $Step 'identity')
    $name = ConvertTo-NullableString $Step.tls_certificate_name
    $connector = Get-Connector $kind $identity
    if ((ConvertTo-NullableString $connector.TlsCertificateName) -ceq $name) { return @{ changed = $false } }
    Set-Connector $kind $identity @{ TlsCertificateName = $name }
    return @{ changed = $true }
}

function Step-SetProtocolLogging($Step) {
    $kind = [string](Get-Field $Step 'kind')
    $identity = [string](Get-Field $Step 'identity')
    $level = [string](Get-Field $Step 'level')
    $connector = Get-Connector $kind $identity
    if ([string]$connector.ProtocolLoggingLevel -eq $level) { return @{ changed = $false } }
    Set-Connector $kind $identity @{ ProtocolLoggingLevel = $level }
    return @{ changed = $true }
}

function Step-SetHybrid($Step) {
    $name = ConvertTo-NullableString $Step.tls_certificate_name
    $hybrid = Get-HybridConfiguration -ErrorAction Stop
    if ($null -eq $hybrid) { throw 'there is no hybrid configuration' }
    if ((ConvertTo-NullableString $hybrid.TlsCertificateName) -ceq $name) { return @{ changed = $false } }
    Set-HybridConfiguration -TlsCertificateName $name -Confirm:$false -ErrorAction Stop
    return @{ changed = $true }
}

function Step-SetIisBinding($Step) {
    $site = [string](Get-Field $Step 'site')
    $information = [string](Get-Field $Step 'binding')
    $thumbprint = [string](Get-Field $Step 'thumbprint')
    if (-not (Import-WebAdministration)) { throw 'the WebAdministration module (IIS) is not installed' }
    $binding = @(Get-WebBinding -Name $site -Protocol https -ErrorAction Stop | Where-Object { $_.bindingInformation -eq $information })
    if ($binding.Count -ne 1) { throw "site '$site' has no https binding '$information'" }
    $previous = [string]$binding[0].certificateHash
    if ($previous -eq $thumbprint) { return @{ changed = $false } }
    if (-not $previous) { $binding[0].AddSslCertificate($thumbprint, 'My'); return @{ changed = $true } }
    # Replaced in place (one HTTP.sys update of the existing SSL binding): removing
    # first would leave the port without a certificate, and lose its settings, if
    # the process died in between.
    $parts = $information.Split(':')
    $address = $information.Substring(0, $information.LastIndexOf(':'))
    $address = $address.Substring(0, $address.LastIndexOf(':'))
    if (-not $address -or $address -eq '*') { $address = '0.0.0.0' }
    $key = $address + '!' + $parts[$parts.Length - 2]
    if ([int]$binding[0].sslFlags -band 1) { $key = '!' + $parts[$parts.Length - 2] + '!' + $parts[$parts.Length - 1] }
    $null = Get-Item -LiteralPath ('Cert:\LocalMachine\My\' + $thumbprint) -ErrorAction Stop |
        Set-Item -LiteralPath ('IIS:\SslBindings\' + $key) -ErrorAction Stop
    return @{ changed = $true }
}

function Set-AdministratorsOnlyAcl([string]$Directory) {
    $acl = New-Object System.Security.AccessControl.DirectorySecurity
    $acl.SetAccessRuleProtection($true, $false)
    foreach ($sid in @('S-1-5-32-544', 'S-1-5-18')) {
        $identity = New-Object System.Security.Principal.SecurityIdentifier $sid
        $rule = New-Object System.Security.AccessControl.FileSystemAccessRule -ArgumentList $identity, 'FullControl', 'ContainerInherit,ObjectInherit', 'None', 'Allow'
        $acl.AddAccessRule($rule)
    }
    (Get-Item -LiteralPath $Directory).SetAccessControl($acl)
}

function Get-BackupThumbprints([string]$Path, [string]$Kind, $Password) {
    if ($Kind -eq 'der') {
        $bytes = [System.IO.File]::ReadAllBytes($Path)
        return (New-Object System.Security.Cryptography.X509Certificates.X509Certificate2 -ArgumentList (, $bytes)).Thumbprint
    }
    $pfx = Get-PfxData -FilePath $Path -Password $Password
    foreach ($certificate in @($pfx.EndEntityCertificates) + @($pfx.OtherCertificates)) {
        if ($null -ne $certificate) { $certificate.Thumbprint }
    }
}

function Get-BackupData([string]$Path, [string]$Kind, [string]$Thumbprint, $Algorithm) {
    $bytes = [System.IO.File]::ReadAllBytes($Path)
    # SHA256Cng is FIPS-validated; SHA256Managed throws when the FIPS policy is on.
    $sha256 = New-Object System.Security.Cryptography.SHA256Cng
    return [ordered]@{
        path                 = $Path
        kind                 = $Kind
        thumbprint_read_back = $Thumbprint
        sha256               = ([BitConverter]::ToString($sha256.ComputeHash($bytes))).Replace('-', '')
        content_b64          = [Convert]::ToBase64String($bytes)
        pfx_algorithm        = $Algorithm
    }
}

# The certificate has left the store (an earlier apply backed it up, removed
# it, and lost the connection before answering): hand back the verified backup
# it left, so that the controller can still keep a copy of it.
# With $InStore (a fetch for a certificate that never left the store) a missing backup is no failure:
# there is nothing to hand back, and data is null.
function Get-ExistingBackup([string]$Thumbprint, [string]$StoreName, [string]$Directory, $PlainPassword, [bool]$InStore) {
    $candidates = @(@{ kind = 'der'; password = $null })
    if ($PlainPassword) {
        $secure = ConvertTo-SecureString -String ([string]$PlainPassword) -AsPlainText -Force
        $candidates = @(@{ kind = 'pfx'; password = $secure }) + $candidates
    }
    foreach ($candidate in $candidates) {
        $extension = @{ der = '.cer'; pfx = '.pfx' }[$candidate.kind]
        $path = Join-Path $Directory ($Thumbprint.ToUpperInvariant() + $extension)
        if (-not (Test-Path -LiteralPath $path)) { continue }
        $readBack = @()
        try { $readBack = @(Get-BackupThumbprints $path $candidate.kind $candidate.password) } catch { }
        if ($readBack -contains $Thumbprint.ToUpperInvariant()) {
            return @{ changed = $false; data = (Get-BackupData $path $candidate.kind $Thumbprint.ToUpperInvariant() $null) }
        }
    }
    if ($InStore) { return @{ changed = $false; data = $null } }
    throw "there is no verified backup of $Thumbprint (LocalMachine\$StoreName) in $Directory"
}

# The folder as the plan says to use it; each case compares with what the read saw, none judges.
# create: absent at the read, so it must still be absent (New-Item without -Force fails on an existing
# one). created: an earlier step of this apply made it. existing: its owner and DACL as the read saw them.
function Use-BackupFolder($Step, [string]$Directory) {
    $use = [string](Get-Field $Step 'folder')
    if ($use -eq 'create' -or $use -eq 'existing') {
        # The read saw no junction or symbolic link above the folder (the plan is refused otherwise); one made
        # since would send the backup wherever it points.
        $now = Get-FolderFacts $Directory
        if ($now.reparse_parents.Count) {
            throw "the backup folder $Directory is now below a junction or symbolic link ($($now.reparse_parents -join ', ')) that was not there at the read; not writing a backup through it"
        }
    }
    switch ($use) {
        'create' {
            if (Test-Path -LiteralPath $Directory) {
                throw "the backup folder $Directory did not exist at the read and exists now; not using or changing a folder this run did not create"
            }
            $null = New-Item -ItemType Directory -Path $Directory
            Set-AdministratorsOnlyAcl $Directory
        }
        'created' {
            if (-not (Test-Path -LiteralPath $Directory -PathType Container)) { throw "the backup folder $Directory is gone" }
        }
        'existing' {
            if (-not $now.directory -or $now.reparse_point -or $now.sddl -cne [string](Get-Field $Step 'folder_sddl')) {
                throw "the backup folder $Directory changed since the read (its owner and permissions are now $($now.sddl)); not writing a backup into it"
            }
        }
        default { throw "unknown folder use '$($Step.folder)'" }
    }
}

function Step-Backup($Step) {
    $thumbprint = [string](Get-Field $Step 'thumbprint')
    $storeName = [string](Get-Field $Step 'store')
    $directory = [string](Get-Field $Step 'directory')
    $store = Open-Store $storeName $false
    try { $certificate = @(Find-Certificate $store $thumbprint) }
    finally { $store.Close() }
    if ($certificate.Count -eq 0 -or [string]$Step.folder -eq 'fetch') {
        return Get-ExistingBackup $thumbprint $storeName $directory $Step.password ($certificate.Count -gt 0)
    }
    $item = Get-Item -LiteralPath ('Cert:\LocalMachine\' + $storeName + '\' + $certificate[0].Thumbprint)

    $kind = 'der'
    $password = $null
    if ($Step.password -and (Get-KeyExportable $certificate[0])) {
        $kind = 'pfx'
        $password = ConvertTo-SecureString -String ([string]$Step.password) -AsPlainText -Force
    }
    $extension = @{ der = '.cer'; pfx = '.pfx' }[$kind]
    Use-BackupFolder $Step $directory
    $path = Join-Path $directory ($certificate[0].Thumbprint + $extension)

    $changed = $false
    $algorithm = $null
    $existing = $null
    if (Test-Path -LiteralPath $path) { try { $existing = @(Get-BackupThumbprints $path $kind $password) } catch { } }
    if ($existing -notcontains $certificate[0].Thumbprint) {
        if ($kind -eq 'pfx') {
            $export = @{ Cert = $item; FilePath = $path; Password = $password; Force = $true }
            # -CryptoAlgorithmOption exists from Windows Server 2019; older systems write TripleDES_SHA1.
            $algorithm = 'TripleDES_SHA1'
            if ((Get-Command Export-PfxCertificate).Parameters.ContainsKey('CryptoAlgorithmOption')) {
                $export['CryptoAlgorithmOption'] = 'AES256_SHA256'
                $algorithm = 'AES256_SHA256'
            }
            $null = Export-PfxCertificate @export
        }
        else { $null = Export-Certificate -Cert $item -FilePath $path -Type CERT -Force }
        $changed = $true
    }
    $readBack = @(Get-BackupThumbprints $path $kind $password)
    if ($readBack -notcontains $certificate[0].Thumbprint) {
        throw "the backup $path reads back as $($readBack -join ', '), not $thumbprint"
    }
    return @{ changed = $changed; data = (Get-BackupData $path $kind $certificate[0].Thumbprint $algorithm) }
}

# Read again at the moment of removal (the controller's read may be minutes old): what would point
# at nothing once the certificate left My. An IIS binding or the internal transport naming it; an
# Exchange service no other certificate has; a connector or the hybrid configuration naming its
# issuer and subject when no other certificate in My has the same.
function Get-LostBindings($Certificate, $Others) {
    $thumbprint = $Certificate.Thumbprint
    $iisBindings = @(Read-IisBindings)
    foreach ($binding in $iisBindings) {
        if ($binding.thumbprint -eq $thumbprint) { "IIS binding $($binding.site) $($binding.binding)" }
    }
    foreach ($binding in @(Read-HttpSysBindings $iisBindings)) {
        if ($binding.thumbprint -eq $thumbprint -and $binding.store -eq 'My') { "http.sys SSL binding $($binding.endpoint)" }
    }
    $load = Assert-ExchangeLoaded
    if (-not $load.method) { return }
    $server = $env:COMPUTERNAME
    $entries = @(Get-ExchangeCertificate -Server $server -ErrorAction Stop)
    $served = @(foreach ($entry in $entries) { if ((Get-ExchangeCertificateThumbprint $entry) -ne $thumbprint) { Split-List $entry.Services } })
    foreach ($entry in $entries) {
        if ((Get-ExchangeCertificateThumbprint $entry) -ne $thumbprint) { continue }
        foreach ($service in @(Split-List $entry.Services)) { if ($served -notcontains $service) { "Exchange service $service" } }
    }
    if ((Get-TransportService -Identity $server -ErrorAction Stop).InternalTransportCertificateThumbprint -eq $thumbprint) {
        'the internal transport certificate'
    }
    if (Test-CmdletReadable $load 'Get-AuthConfig') {
        foreach ($role in @(Get-RotationRoles (Get-AuthEntry) $thumbprint)) { "the $role OAuth certificate (Get-AuthConfig)" }
    }
    if (Test-CmdletReadable $load 'Get-FederationTrust') {
        foreach ($entry in @(Get-FederationEntries)) {
            foreach ($role in @(Get-RotationRoles $entry $thumbprint)) { "the $role federation trust certificate (Get-FederationTrust)" }
        }
    }
    if (@($Others | Where-Object { $_.Issuer -eq $Certificate.Issuer -and $_.Subject -eq $Certificate.Subject }).Count -gt 0) { return }
    $name = '<I>' + $Certificate.Issuer + '<S>' + $Certificate.Subject
    foreach ($c in @(Get-SendConnector -ErrorAction Stop)) {
        if ((@(Get-StringList $c.SourceTransportServers) -contains $server) -and [string]$c.TlsCertificateName -eq $name) { "send connector $($c.Identity)" }
    }
    foreach ($c in @(Get-ReceiveConnector -Server $server -ErrorAction Stop)) {
        if ([string]$c.TlsCertificateName -eq $name) { "receive connector $($c.Identity)" }
    }
    if ($load.role -eq 'Edge') { return }  # no hybrid configuration on Edge Transport
    $hybrid = Get-HybridConfiguration -ErrorAction Stop
    if ($null -ne $hybrid -and [string]$hybrid.TlsCertificateName -eq $name) {
        $members = @(Get-StringList $hybrid.SendingTransportServers) + @(Get-StringList $hybrid.ReceivingTransportServers)
        if ($members -contains $server) { 'the hybrid configuration' }
    }
}

function Get-KeyName($Key) {
    if ($null -eq $Key) { return $null }
    if ($Key -is [System.Security.Cryptography.ICspAsymmetricAlgorithm]) { return [string]$Key.CspKeyContainerInfo.UniqueKeyContainerName }
    return [string]$Key.Key.UniqueName
}

# X509Store.Remove leaves the private key behind; it is deleted here unless
# another certificate in the store (a renewal with the same key) still uses it.
function Remove-UnsharedKey($Store, $Certificate) {
    $key = Get-PrivateKey $Certificate
    $name = Get-KeyName $key
    if (-not $name) { return }
    foreach ($other in $Store.Certificates) {
        if ($other.Thumbprint -ne $Certificate.Thumbprint -and (Get-KeyName (Get-PrivateKey $other)) -eq $name) { return }
    }
    if ($key -is [System.Security.Cryptography.ICspAsymmetricAlgorithm]) { $key.PersistKeyInCsp = $false; $key.Clear() }
    else { $key.Key.Delete() }
}

function Step-Remove($Step) {
    $thumbprint = [string](Get-Field $Step 'thumbprint')
    $storeName = [string](Get-Field $Step 'store')
    $store = Open-Store $storeName $true
    try {
        $found = @(Find-Certificate $store $thumbprint)
        if ($found.Count -eq 0) { return @{ changed = $false } }
        if ($storeName -eq 'My') {
            $others = @($store.Certificates | Where-Object { $_.Thumbprint -ne $found[0].Thumbprint })
            $bound = @(Get-LostBindings $found[0] $others)
            if ($bound.Count -gt 0) { throw "not removing $thumbprint from LocalMachine\My: it is bound now ($($bound -join '; '))" }
        }
        foreach ($certificate in $found) { $store.Remove($certificate); Remove-UnsharedKey $store $certificate }
        return @{ changed = $true }
    }
    finally { $store.Close() }
}

function Invoke-Step($Step) {
    switch ([string]$Step.action) {
        'install_intermediate' { return Add-ToStore 'CA' ([string](Get-Field $Step 'thumbprint')) ([Convert]::FromBase64String((Get-Field $Step 'der_b64'))) }
        'install_root' { return Add-ToStore 'Root' ([string](Get-Field $Step 'thumbprint')) ([Convert]::FromBase64String((Get-Field $Step 'der_b64'))) }
        'import_certificate' { return Add-ToStore ([string](Get-Field $Step 'store')) ([string](Get-Field $Step 'thumbprint')) ([Convert]::FromBase64String((Get-Field $Step 'der_b64'))) }
        'import_pfx' { return Step-ImportPfx $Step }
        'enable_services' { return Step-EnableServices $Step }
        'set_connector' { return Step-SetConnector $Step }
        'set_hybrid' { return Step-SetHybrid $Step }
        'set_iis_binding' { return Step-SetIisBinding $Step }
        'set_protocol_logging' { return Step-SetProtocolLogging $Step }
        'backup' { return Step-Backup $Step }
        'remove' { return Step-Remove $Step }
        'restart_service' {
            # -Force: the transport services have dependents; a service that does not come back up throws.
            Restart-Service -Name ([string](Get-Field $Step 'service')) -Force -ErrorAction Stop
            return @{ changed = $true }
        }
        default { throw "unknown action '$($Step.action)'" }
    }
}

function Invoke-Apply($Options) {
    # @($null) is a one-element array: drop nulls so a missing list means no steps.
    $steps = @($Options.steps | Where-Object { $null -ne $_ })
    foreach ($step in $steps) {
        if ($StepActions -notcontains [string]$step.action) {
            throw (New-AgentError 'bad_request' "step '$($step.id)' has unknown action '$($step.action)'")
        }
    }
    if (@($steps | Where-Object { $ExchangeActions -contains [string]$_.action }).Count -gt 0) { Assert-Exchange }

    $results = New-Object System.Collections.ArrayList
    $failed = $false
    $completed = 0
    foreach ($step in $steps) {
        $entry = [ordered]@{ id = $step.id; action = [string]$step.action; status = 'not_run'; message = $null; data = $null }
        if (-not $failed) {
            try {
                $outcome = Invoke-Step $step
                $entry.status = 'unchanged'
                if ($outcome.changed) { $entry.status = 'changed' }
                $entry.data = $outcome.data
                $completed++
            }
            catch {
                $entry.status = 'failed'
                $entry.message = (Get-InnerException $_.Exception).Message
                $failed = $true
            }
        }
        $null = $results.Add($entry)
    }
    $outcome = [ordered]@{ results = @($results.ToArray()); completed = $completed; failed = $failed }
    if ($Options.read_after -eq $true) {
        # A fresh read after the steps, in this session (Exchange loads once). Its failure keeps the
        # steps' results, which may carry backups: the controller then reads in a command of its own.
        $outcome.after = $null
        $outcome.after_error = $null
        try { $outcome.after = Invoke-Read $Options }
        catch { $outcome.after_error = [ordered]@{ category = Get-ErrorCategory $_.Exception; message = $_.Exception.Message } }
    }
    $outcome
}

# ---------------------------------------------------------------- read_logs

function ConvertTo-UtcTime($Value) {
    if ($Value -is [datetime]) { return $Value.ToUniversalTime() }
    $styles = [System.Globalization.DateTimeStyles]'AdjustToUniversal,AssumeUniversal'
    return [datetime]::Parse([string]$Value, $Invariant, $styles)
}

function Read-Tail([string]$Path, [long]$Count) {
    # Exchange keeps its current log open for writing: share ReadWrite to read it.
    $stream = [System.IO.File]::Open($Path, 'Open', 'Read', 'ReadWrite')
    try {
        $Count = [Math]::Min($Count, $stream.Length)
        $null = $stream.Seek(-$Count, 'End')
        $buffer = New-Object byte[] $Count
        $read = 0
        while ($read -lt $Count) {
            $n = $stream.Read($buffer, $read, $Count - $read)
            if ($n -le 0) { break }
            $read += $n
        }
        return , $buffer
    }
    finally { $stream.Close() }
}

function Invoke-ReadLogs($Options) {
    $paths = @(Get-StringList $Options.paths)
    if ($null -eq $Options.paths) {
        Assert-Exchange
        $transport = Get-TransportEntry $env:COMPUTERNAME (Import-Exchange).role
        $paths = @(Get-StringList @($transport.send_protocol_log_path, $transport.receive_protocol_log_path,
                $transport.frontend_send_protocol_log_path, $transport.frontend_receive_protocol_log_path))
    }
    $since = [datetime]::MinValue
    if ($null -ne $Options.since) { $since = ConvertTo-UtcTime $Options.since }
    # Paging: the next call asks for the files older than the oldest one it got.
    $before = [datetime]::MaxValue
    if ($null -ne $Options.before) { $before = ConvertTo-UtcTime $Options.before }
    # Small enough that the file bytes, their base64 and the JSON (UTF-16 in
    # memory) stay far below WinRM's MaxMemoryPerShellMB; callers page by time.
    $budget = [long]8000000
    if ($null -ne $Options.max_bytes) { $budget = [long]$Options.max_bytes }

    $missing = @(foreach ($path in $paths) { if (-not (Test-Path -LiteralPath $path -PathType Container)) { $path } })
    $files = @(foreach ($path in $paths) {
            if (Test-Path -LiteralPath $path -PathType Container) {
                Get-ChildItem -LiteralPath $path -Filter '*.log' -File |
                    Where-Object { $_.LastWriteTimeUtc -ge $since -and $_.LastWriteTimeUtc -lt $before }
            }
        })
    # Newest first to spend the byte budget on the newest files; reported newest last.
    $newestFirst = @($files | Sort-Object -Property @('LastWriteTimeUtc', 'FullName') -Descending)
    $entries = New-Object System.Collections.ArrayList
    $dropped = 0
    foreach ($file in $newestFirst) {
        if ($budget -le 0) { $dropped++; continue }
        $take = [Math]::Min([long]$file.Length, $budget)
        $bytes = Read-Tail $file.FullName $take
        $budget -= $bytes.Length
        $null = $entries.Insert(0, [ordered]@{
                path         = $file.FullName
                name         = $file.Name
                size         = [long]$file.Length
                modified_utc = Format-Time $file.LastWriteTimeUtc
                content_b64  = [Convert]::ToBase64String($bytes)
                truncated    = ($bytes.Length -lt $file.Length)
            })
    }
    [ordered]@{ files = @($entries.ToArray()); dropped_files = $dropped; missing_paths = $missing }
}

# ---------------------------------------------------------------- main

function ConvertTo-AsciiJson($Value) {
    $json = ConvertTo-Json -InputObject $Value -Depth 10 -Compress
    return [regex]::Replace($json, '[^\x00-\x7F]', { param($m) '\u{0:x4}' -f [int][char]$m.Value })
}

$response = [ordered]@{ agent_version = $AgentVersion; operation = $null; ok = $true; error = $null; result = $null }
try {
    try { $request = ConvertFrom-Json -InputObject $RequestJson }
    catch { throw (New-AgentError 'bad_request' "the request is not valid JSON: $($_.Exception.Message)") }
    if ($null -eq $request) { throw (New-AgentError 'bad_request' 'the request is empty') }
    $response.operation = ConvertTo-NullableString $request.operation
    if ([string]$request.agent_version -ne $AgentVersion) {
        throw (New-AgentError 'version_mismatch' "the request is for agent version '$($request.agent_version)', this agent is version $AgentVersion")
    }
    if ($null -ne $request.options) { $AgentState.credential = New-ExchangeCredential $request.options.exchange_credential }
    switch ([string]$request.operation) {
        'read' { $response.result = Invoke-Read $request.options }
        'apply' { $response.result = Invoke-Apply $request.options }
        'read_logs' { $response.result = Invoke-ReadLogs $request.options }
        default { throw (New-AgentError 'bad_request' "unknown operation '$($request.operation)'") }
    }
}
catch {
    $response.ok = $false
    $response.result = $null
    $response.error = [ordered]@{ category = Get-ErrorCategory $_.Exception; message = (Get-InnerException $_.Exception).Message }
}
Write-Output '<<<CERTWARDEN-BEGIN>>>'
Write-Output (ConvertTo-AsciiJson $response)
Write-Output '<<<CERTWARDEN-END>>>'
exit 0
