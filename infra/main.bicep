// kusto-ingest-functions: a Flex Consumption function app that lands blobs and HTTP pushes in Azure Data
// Explorer. Deployed by `azd up`. Raw resources only (no registry modules), so it builds offline.
targetScope = 'subscription'

@minLength(1)
@maxLength(64)
@description('azd environment name; names every resource.')
param environmentName string

@minLength(1)
@description('Azure region: one where Flex Consumption runs (an unsupported one would fail only at the plan, possibly after a 15-minute cluster build).')
@allowed([
  'australiaeast'
  'australiasoutheast'
  'brazilsouth'
  'canadacentral'
  'centralindia'
  'centralus'
  'eastasia'
  'eastus'
  'eastus2'
  'francecentral'
  'germanywestcentral'
  'italynorth'
  'japaneast'
  'koreacentral'
  'northcentralus'
  'northeurope'
  'norwayeast'
  'southafricanorth'
  'southcentralus'
  'southeastasia'
  'southindia'
  'spaincentral'
  'swedencentral'
  'uaenorth'
  'uksouth'
  'ukwest'
  'westcentralus'
  'westeurope'
  'westus'
  'westus2'
  'westus3'
])
@metadata({ azd: { type: 'location' } })
param location string

@description('Object id of the principal running azd (azd sets AZURE_PRINCIPAL_ID), given data access to the storage accounts; empty for none.')
param principalId string = ''

@description('What kind of principal principalId is (azd sets AZURE_PRINCIPAL_TYPE): a user at a terminal, or a service principal in a pipeline.')
@allowed(['User', 'ServicePrincipal', 'Group'])
param principalType string = 'User'

// Node 20 reached end of life on 2026-04-30. Node 24 is not offered: no Functions page we can reach shows it
// generally available on Flex Consumption (learn.microsoft.com azure-functions/supported-languages lists Node 22
// and 20; the Flex stack data of Az.Functions 4.3.0, FunctionsStackFlexData/<region>/node.json, Node 22
// only). dev/package.mjs targets the lowest version allowed here; .ci/run tests on 22 (and 24, to be ready).
@description('Node.js runtime version of the function app.')
@allowed(['22'])
param nodeVersion string = '22'

@description('Create a dev ADX cluster and database (about 15 minutes); otherwise give existingIngestUri and existingEngineUri.')
param createCluster bool = false

@description('Ingest (Data Management) endpoint of an existing cluster: https://ingest-<cluster>.<region>.kusto.windows.net')
param existingIngestUri string = ''

@description('Engine endpoint of an existing cluster: https://<cluster>.<region>.kusto.windows.net')
param existingEngineUri string = ''

@description('Database created in a new cluster.')
param databaseName string = 'ingest'

@description('How HTTP pushes are ingested: queued, or managed-streaming (the new cluster then enables streaming).')
@allowed(['queued', 'managed-streaming'])
param httpIngestFlavor string = 'queued'

@description('How sources are announced to Kusto: auto (REST queued ingestion, v2, where the cluster prefers it; queue messages, v1, elsewhere), v1 or v2. Unless v1, the app\'s identity gets the database Monitor role on a new cluster: a v2 submission whose answer was lost is settled by asking the engine for its extents and failures. See docs/lifecycle.md.')
@allowed(['auto', 'v1', 'v2'])
param ingestProtocol string = 'auto'

@description('How the service reports each source: table (a status row each; up to ~10^4 sources a day), queue (reports on its status queues) or failures-only (failure reports only, for the largest volumes; the app\'s identity gets the database Monitor role on a new cluster, to cross-check with .show ingestion failures). See docs/operations.md.')
@allowed(['table', 'queue', 'failures-only'])
param statusMode string = 'table'

@description('Where the alert on failure reports is mailed (optional).')
param alertEmail string = ''

@description('Make the landing account a Data Lake (hierarchical namespace) account: its Event Grid subscription then also takes BlobRenamed, and only operations that complete a file.')
param landingHierarchicalNamespace bool = false

@description('How Kusto reads landing blobs: user-delegation (a read SAS signed by the app\'s identity) or kusto-identity (the cluster\'s own managed identity; no SAS leaves the app). With kusto-identity and an existing cluster, give its identity in existingClusterPrincipalId and set the database policy (docs/landing.md). With kusto-identity and a new cluster, the schema script sets that policy, which needs AllDatabasesAdmin of whoever deploys: the principal that created the cluster has it, another one redeploying needs it given first (docs/deploy.md).')
@allowed(['user-delegation', 'kusto-identity'])
param landingBlobAuth string = 'user-delegation'

@description('Object id of an existing cluster\'s managed identity, granted read on the landing account for landingBlobAuth kusto-identity; empty for none.')
param existingClusterPrincipalId string = ''

@description('What becomes of a landing blob once ingested: keep, delete, move (to landing-done, path kept) or tag (blob index tags).')
@allowed(['keep', 'delete', 'move', 'tag'])
param landingOnSuccess string = 'keep'

@description('Days a blob stays in landing-done before a lifecycle rule deletes it; 0 keeps it.')
@minValue(0)
param landingDoneRetentionDays int = 0

@secure()
@description('Where each success is POSTed, so a downstream step can start when data is queryable (optional).')
param successWebhookUrl string = ''

@secure()
@description('Where each failure report is POSTed (optional).')
param failureWebhookUrl string = ''

@description('Private network: the app\'s storage closed to the internet and reached through private endpoints, the function app integrated into a VNet (outbound through a NAT gateway), the landing account behind its firewall (Event Grid as a trusted service, Kusto through a managed private endpoint). Needs the Microsoft.App resource provider registered (docs/deploy.md).')
param vnetEnabled bool = false

@description('With vnetEnabled: public IP addresses or CIDR ranges that may upload to the landing account from outside the VNet, comma-separated (LANDING_ALLOWED_IP_RANGES); empty: none.')
param landingAllowedIpRanges string = ''

@description('The most instances the function app scales out to.')
@minValue(40)
@maxValue(1000)
param maximumInstanceCount int = 100

@description('Memory of each function app instance, in MB.')
@allowed([512, 2048, 4096])
param instanceMemoryMB int = 2048

@description('Instances kept ready for the HTTP functions (billed while ready); 0 for none.')
@minValue(0)
param alwaysReadyHttp int = 0

@description('Client id of the operators\' Entra app registration (app roles Ingest.Operator and Ingest.Reader; docs/operations.md gives the az steps): the app then checks operators\' access tokens itself (OPERATOR_AUTH entra) and the console signs them in. Empty keeps the host\'s master key.')
param operatorClientId string = ''

var resourceToken = toLower(uniqueString(subscription().id, environmentName, location))
var tags = { 'azd-env-name': environmentName }
var names = {
  resourceGroup: 'rg-${environmentName}'
  identity: 'id-${resourceToken}'
  workspace: 'log-${resourceToken}'
  insights: 'appi-${resourceToken}'
  appStorage: 'st${resourceToken}'
  landingStorage: 'stland${take(resourceToken, 18)}'
  plan: 'plan-${resourceToken}'
  functionApp: 'func-${resourceToken}'
  cluster: 'kusto${take(resourceToken, 17)}'
  vnet: 'vnet-${resourceToken}'
}

// An app with no cluster could deploy but never work: the template itself refuses it, whoever runs it (the
// azd preprovision hook stops `azd up` earlier; a plain `az deployment sub create` meets this). fail() is
// Bicep's flow-control function (generally available: learn.microsoft.com, azure-resource-manager/bicep/
// bicep-functions-flow-control); in the resource group's name it is evaluated before anything is created.
var clusterNamed = createCluster || !empty(existingIngestUri)

resource rg 'Microsoft.Resources/resourceGroups@2025-04-01' = {
  name: clusterNamed
    ? names.resourceGroup
    : fail('No Kusto cluster: set createCluster true (azd env set KUSTO_CREATE_CLUSTER true), or give existingIngestUri (azd env set KUSTO_INGEST_URI https://ingest-<cluster>.<region>.kusto.windows.net).')
  location: location
  tags: tags
}

module identity 'modules/identity.bicep' = {
  scope: rg
  name: 'identity'
  params: { name: names.identity, location: location, tags: tags }
}

module monitoring 'modules/monitoring.bicep' = {
  scope: rg
  name: 'monitoring'
  params: {
    workspaceName: names.workspace
    insightsName: names.insights
    location: location
    tags: tags
    alertEmail: alertEmail
  }
}

module appStorage 'modules/appStorage.bicep' = {
  scope: rg
  name: 'app-storage'
  params: {
    name: names.appStorage
    location: location
    tags: tags
    functionAppName: names.functionApp
    privateNetwork: vnetEnabled
  }
}

module landing 'modules/landing.bicep' = {
  scope: rg
  name: 'landing'
  params: {
    name: names.landingStorage
    location: location
    tags: tags
    hierarchicalNamespace: landingHierarchicalNamespace
    doneRetentionDays: landingDoneRetentionDays
    privateNetwork: vnetEnabled
    allowedIpRanges: empty(landingAllowedIpRanges) ? [] : map(split(landingAllowedIpRanges, ','), r => trim(r))
  }
}

// Every network resource (VNet, subnets, NAT gateway, private endpoints, DNS zones) is in this module, and
// exists only with vnetEnabled.
module network 'modules/network.bicep' = if (vnetEnabled) {
  scope: rg
  name: 'network'
  params: {
    name: names.vnet
    location: location
    tags: tags
    appStorageName: appStorage.outputs.name
    landingStorageName: landing.outputs.name
  }
}

module kusto 'modules/kusto.bicep' = if (createCluster) {
  scope: rg
  name: 'kusto'
  params: {
    clusterName: names.cluster
    databaseName: databaseName
    location: location
    tags: tags
    ingestorClientId: identity.outputs.clientId
    enableStreaming: httpIngestFlavor == 'managed-streaming'
    allowIdentityIngestion: landingBlobAuth == 'kusto-identity'
    grantMonitor: statusMode == 'failures-only' || ingestProtocol != 'v1'
    landingStorageId: vnetEnabled ? landing.outputs.id : ''
  }
}

module rbac 'modules/rbac.bicep' = {
  scope: rg
  name: 'rbac'
  params: {
    appStorageName: appStorage.outputs.name
    landingStorageName: landing.outputs.name
    insightsName: monitoring.outputs.insightsName
    appPrincipalId: identity.outputs.principalId
    eventGridPrincipalId: landing.outputs.systemTopicPrincipalId
    deployerPrincipalId: principalId
    deployerPrincipalType: principalType
    kustoPrincipalId: landingBlobAuth != 'kusto-identity'
      ? ''
      : createCluster ? kusto.outputs.principalId : existingClusterPrincipalId
    appTagsLandingBlobs: landingOnSuccess == 'tag'
  }
}

module landingEvents 'modules/landingEvents.bicep' = {
  scope: rg
  name: 'landing-events'
  params: {
    landingStorageName: landing.outputs.name
    systemTopicName: landing.outputs.systemTopicName
    hierarchicalNamespace: landingHierarchicalNamespace
  }
  dependsOn: [rbac] // Event Grid checks its identity's access when the subscription is created
}

module functionApp 'modules/functionApp.bicep' = {
  scope: rg
  name: 'function-app'
  params: {
    name: names.functionApp
    planName: names.plan
    location: location
    tags: tags
    serviceName: 'app'
    nodeVersion: nodeVersion
    identityId: identity.outputs.id
    identityClientId: identity.outputs.clientId
    appStorageName: appStorage.outputs.name
    deploymentContainer: appStorage.outputs.deploymentContainer
    landingStorageName: landing.outputs.name
    insightsName: monitoring.outputs.insightsName
    kustoIngestUri: createCluster ? kusto.outputs.ingestUri : existingIngestUri
    kustoEngineUri: createCluster ? kusto.outputs.engineUri : existingEngineUri
    httpIngestFlavor: httpIngestFlavor
    ingestProtocol: ingestProtocol
    statusMode: statusMode
    landingBlobAuth: landingBlobAuth
    landingOnSuccess: landingOnSuccess
    successWebhookUrl: successWebhookUrl
    failureWebhookUrl: failureWebhookUrl
    operatorClientId: operatorClientId
    virtualNetworkSubnetId: vnetEnabled ? network.outputs.appSubnetId : ''
    maximumInstanceCount: maximumInstanceCount
    instanceMemoryMB: instanceMemoryMB
    alwaysReadyHttp: alwaysReadyHttp
  }
  dependsOn: [rbac]
}

output AZURE_LOCATION string = location
output AZURE_TENANT_ID string = tenant().tenantId
output AZURE_RESOURCE_GROUP string = rg.name
output AZURE_FUNCTION_APP_NAME string = functionApp.outputs.name
output AZURE_FUNCTION_APP_URL string = functionApp.outputs.url
// Not AZURE_CLIENT_ID: azd pipelines and DefaultAzureCredential read that name as their own identity.
output APP_IDENTITY_CLIENT_ID string = identity.outputs.clientId
output LANDING_STORAGE_ACCOUNT string = landing.outputs.name
output KUSTO_INGEST_URI string = createCluster ? kusto.outputs.ingestUri : existingIngestUri
output KUSTO_ENGINE_URI string = createCluster ? kusto.outputs.engineUri : existingEngineUri
// The address the app's outbound calls come from (vnetEnabled): for a firewall in front of an existing cluster.
output APP_OUTBOUND_IP string = vnetEnabled ? network.outputs.natPublicIp : ''
