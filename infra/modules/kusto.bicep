// An ADX dev cluster and database for trying the app: the app's identity may ingest (Ingestor), and the
// schema script creates the tables. With the managed-streaming flavor, streaming ingestion is enabled.
param clusterName string
param databaseName string
param location string
param tags object
param ingestorClientId string
param enableStreaming bool
@description('Let the cluster read landing blobs with its system-assigned identity (LANDING_BLOB_AUTH kusto-identity).')
param allowIdentityIngestion bool = false
@description('Let the app run .show commands on the database (STATUS_MODE failures-only cross-checks with .show ingestion failures; ingest v2 settles a lost submission answer with .show table extents and .show ingestion failures).')
param grantMonitor bool = false
@description('Private network: the landing account\'s resource id, reached by a managed private endpoint of the cluster; empty for none.')
param landingStorageId string = ''

resource cluster 'Microsoft.Kusto/clusters@2025-02-14' = {
  name: clusterName
  location: location
  tags: tags
  sku: { name: 'Dev(No SLA)_Standard_E2a_v4', tier: 'Basic', capacity: 1 }
  // Its own identity reads landing blobs when the app queues them with ;managed_identity=system.
  identity: { type: 'SystemAssigned' }
  properties: {
    enableStreamingIngest: enableStreaming
    enableAutoStop: true
    publicNetworkAccess: 'Enabled'
  }
}

resource database 'Microsoft.Kusto/clusters/databases@2025-02-14' = {
  parent: cluster
  name: databaseName
  location: location
  kind: 'ReadWrite'
  properties: {
    softDeletePeriod: 'P365D'
    hotCachePeriod: 'P31D'
  }
}

resource ingestor 'Microsoft.Kusto/clusters/databases/principalAssignments@2025-02-14' = {
  parent: database
  name: 'app-ingestor'
  properties: {
    // For a managed identity, its client (application) id.
    principalId: ingestorClientId
    principalType: 'App'
    role: 'Ingestor'
    tenantId: tenant().tenantId
  }
}

// Monitor, not Admin: it may read .show ingestion failures and policies, and change nothing.
resource monitor 'Microsoft.Kusto/clusters/databases/principalAssignments@2025-02-14' = if (grantMonitor) {
  parent: database
  name: 'app-monitor'
  properties: {
    principalId: ingestorClientId
    principalType: 'App'
    role: 'Monitor'
    tenantId: tenant().tenantId
  }
  dependsOn: [ingestor] // one database operation at a time
}

var streamingPolicy = enableStreaming ? '\n.alter database [\'${databaseName}\'] policy streamingingestion enable\n' : ''
// Queued ingestion may use the cluster's identity only where the ManagedIdentity policy allows NativeIngestion.
var identityPolicy = allowIdentityIngestion
  ? '\n.alter-merge database [\'${databaseName}\'] policy managed_identity "[{\'ObjectId\': \'system\', \'AllowedUsages\': \'NativeIngestion\'}]"\n'
  : ''

resource schema 'Microsoft.Kusto/clusters/databases/scripts@2025-02-14' = {
  parent: database
  name: 'schema'
  properties: {
    #disable-next-line use-secure-value-for-secure-inputs
    scriptContent: '${loadTextContent('../schema.kql')}${streamingPolicy}${identityPolicy}'
    continueOnErrors: false
  }
  // The provider answers Conflict to two operations on one database at once.
  dependsOn: [ingestor, monitor]
}

output ingestUri string = cluster.properties.dataIngestionUri
output engineUri string = cluster.properties.uri
output databaseName string = database.name
output principalId string = cluster.identity.principalId

// With the landing account behind its firewall, the cluster reads landing blobs through a managed private
// endpoint to the account's blob service (MicrosoftDocs/dataexplorer-docs, data-explorer/
// security-network-managed-private-endpoint-create.md): it works with a SAS (LANDING_BLOB_AUTH
// user-delegation) as with the cluster's identity (kusto-identity), where a resource-instance rule would
// need the identity. It is approved at once when whoever deploys may approve private endpoint connections
// on the account (an Owner or Contributor of the resource group); otherwise approve it on the account's
// Networking page.
resource landingEndpoint 'Microsoft.Kusto/clusters/managedPrivateEndpoints@2025-02-14' = if (!empty(landingStorageId)) {
  parent: cluster
  name: 'landing-blob'
  properties: {
    privateLinkResourceId: landingStorageId
    groupId: 'blob'
    requestMessage: 'kusto-ingest-functions: the cluster reads landing blobs through this endpoint.'
  }
}

