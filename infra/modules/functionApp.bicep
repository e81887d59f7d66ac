// The Flex Consumption plan and function app. Every setting the app reads (shared/app/settings.ts) is emitted
// here, defaults included; storage connections are identity-based (no connection strings, no keys).
param name string
param planName string
param location string
param tags object
@description('The azure.yaml service this site deploys; only the site carries the tag (azd looks for exactly one).')
param serviceName string
param nodeVersion string
param identityId string
param identityClientId string
param appStorageName string
param deploymentContainer string
param landingStorageName string
@description('Application Insights, read here (not passed as an output) so no connection string leaves a module.')
param insightsName string
param kustoIngestUri string
param kustoEngineUri string
param httpIngestFlavor string
@description('KUSTO_INGEST_PROTOCOL: auto, v1 or v2.')
param ingestProtocol string
@description('STATUS_MODE: table, queue or failures-only.')
param statusMode string
@description('How Kusto reads landing blobs: user-delegation (a SAS) or kusto-identity (the cluster\'s managed identity).')
param landingBlobAuth string
@description('What becomes of a landing blob once ingested: keep, delete, move (to landing-done) or tag.')
param landingOnSuccess string
@secure()
@description('Where each success is POSTed (optional).')
param successWebhookUrl string
@secure()
@description('Where each failure report is POSTed (optional).')
param failureWebhookUrl string
@description('Client id of the operators\' Entra app registration: the app checks their tokens itself (OPERATOR_AUTH entra); empty keeps the host\'s master key.')
param operatorClientId string = ''
@description('The subnet the app integrates into (vnetEnabled); empty for none.')
param virtualNetworkSubnetId string = ''
@description('The most instances the app scales out to.')
@minValue(40)
@maxValue(1000)
param maximumInstanceCount int = 100
@description('Memory of each instance, in MB.')
@allowed([512, 2048, 4096])
param instanceMemoryMB int = 2048
@description('Instances kept ready for the HTTP functions (billed while ready); 0 for none.')
@minValue(0)
param alwaysReadyHttp int = 0

resource appStorage 'Microsoft.Storage/storageAccounts@2025-01-01' existing = {
  name: appStorageName
}

resource landingStorage 'Microsoft.Storage/storageAccounts@2025-01-01' existing = {
  name: landingStorageName
}

resource insights 'Microsoft.Insights/components@2020-02-02' existing = {
  name: insightsName
}

resource plan 'Microsoft.Web/serverfarms@2025-03-01' = {
  name: planName
  location: location
  tags: tags
  kind: 'functionapp'
  sku: { name: 'FC1', tier: 'FlexConsumption' }
  properties: { reserved: true }
}

var appSettings = {
  // Kusto
  KUSTO_INGEST_URI: kustoIngestUri
  KUSTO_ENGINE_URI: kustoEngineUri
  KUSTO_AUTH: 'managed-identity'
  AZURE_CLIENT_ID: identityClientId
  // The app's storage (host state, tracking tables), by identity
  AzureWebJobsStorage__accountName: appStorage.name
  AzureWebJobsStorage__credential: 'managedidentity'
  AzureWebJobsStorage__clientId: identityClientId
  // The landing account (blobs and the landing-events queue), by identity
  LandingStorage__blobServiceUri: landingStorage.properties.primaryEndpoints.blob
  LandingStorage__queueServiceUri: landingStorage.properties.primaryEndpoints.queue
  LandingStorage__credential: 'managedidentity'
  LandingStorage__clientId: identityClientId
  LANDING_CONTAINER: 'landing'
  LANDING_FAILED_CONTAINER: 'landing-failed'
  LANDING_EVENTS_QUEUE: 'landing-events'
  LANDING_DONE_CONTAINER: 'landing-done'
  LANDING_DEADLETTER_CONTAINER: 'landing-deadletter'
  LANDING_BLOB_AUTH: landingBlobAuth
  LANDING_KUSTO_IDENTITY: 'system'
  LANDING_ON_SUCCESS: landingOnSuccess
  ROUTES_FILE: ''
  ALLOWED_DATABASES: ''
  BACKFILL_SOURCES: ''
  LANDING_INCLUDE: ''
  LANDING_EXCLUDE: ''
  STATUS_MODE: statusMode
  SETTLE_MARGIN_MINUTES: '5'
  SWEEP_SCHEDULE: '0 */5 * * * *'
  STALE_AFTER_MINUTES: '120'
  MAX_REQUEUE_ATTEMPTS: '3'
  LANDING_RETRY_HOURS: '24'
  LANDING_RETRY_DELAY_SECONDS: '60'
  FAILURE_WEBHOOK_URL: failureWebhookUrl
  SUCCESS_WEBHOOK_URL: successWebhookUrl
  ALLOWED_BLOB_HOSTS: ''
  LEASE_SECONDS: '600'
  HTTP_INGEST_FLAVOR: httpIngestFlavor
  KUSTO_INGEST_PROTOCOL: ingestProtocol
  KUSTO_INGEST_BATCH_WINDOW_MS: '5'
  OPERATOR_AUTH: empty(operatorClientId) ? 'key' : 'entra'
  OPERATOR_TENANT_ID: tenant().tenantId
  OPERATOR_CLIENT_ID: operatorClientId
  OPERATOR_AUTHORITY: environment().authentication.loginEndpoint
  BACKFILL_PAGES_QUEUE: 'backfill-pages'
  BACKFILL_ITEMS_QUEUE: 'backfill-items'
  // Telemetry, with Entra ID auth
  // With local auth off, the connection string alone cannot send telemetry: the identity must sign in.
  APPLICATIONINSIGHTS_CONNECTION_STRING: insights.properties.ConnectionString
  APPLICATIONINSIGHTS_AUTHENTICATION_STRING: 'ClientId=${identityClientId};Authorization=AAD'
}

resource site 'Microsoft.Web/sites@2025-03-01' = {
  name: name
  location: location
  tags: union(tags, { 'azd-service-name': serviceName })
  kind: 'functionapp,linux'
  identity: {
    type: 'UserAssigned'
    userAssignedIdentities: { '${identityId}': {} }
  }
  properties: {
    serverFarmId: plan.id
    httpsOnly: true
    virtualNetworkSubnetId: empty(virtualNetworkSubnetId) ? null : virtualNetworkSubnetId
    siteConfig: {
      minTlsVersion: '1.2'
      ftpsState: 'Disabled'
      appSettings: [for setting in items(appSettings): { name: setting.key, value: setting.value }]
    }
    functionAppConfig: {
      deployment: {
        storage: {
          type: 'blobContainer'
          value: '${appStorage.properties.primaryEndpoints.blob}${deploymentContainer}'
          authentication: { type: 'UserAssignedIdentity', userAssignedIdentityResourceId: identityId }
        }
      }
      scaleAndConcurrency: {
        maximumInstanceCount: maximumInstanceCount
        instanceMemoryMB: instanceMemoryMB
        alwaysReady: alwaysReadyHttp > 0 ? [{ name: 'http', instanceCount: alwaysReadyHttp }] : []
      }
      runtime: { name: 'node', version: nodeVersion }
    }
  }
}

// No built-in authentication (App Service's sign-in, with its token store): the app checks operators'
// tokens itself, on every plan (shared/app/http/operatorToken.ts), and trusts no principal header.

// Deployments go through azd with the deploying principal's Entra identity: no FTP, no basic-auth publishing.
resource ftp 'Microsoft.Web/sites/basicPublishingCredentialsPolicies@2025-03-01' = {
  parent: site
  name: 'ftp'
  properties: { allow: false }
}

resource scm 'Microsoft.Web/sites/basicPublishingCredentialsPolicies@2025-03-01' = {
  parent: site
  name: 'scm'
  properties: { allow: false }
}

output name string = site.name
output url string = 'https://${site.properties.defaultHostName}'
