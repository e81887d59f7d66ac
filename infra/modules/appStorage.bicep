// The app's own storage: the Functions host's state, the deployment package, the tracking tables and the
// backfill task queues.
// Shared keys are off: everything connects with the app's identity.
param name string
param location string
param tags object
param functionAppName string
@description('Private network (vnetEnabled): no public access at all; the app and the host reach it through private endpoints.')
param privateNetwork bool = false

var deploymentContainer = 'app-package-${take(functionAppName, 32)}'

resource storage 'Microsoft.Storage/storageAccounts@2025-01-01' = {
  name: name
  location: location
  tags: tags
  kind: 'StorageV2'
  sku: { name: 'Standard_LRS' }
  properties: {
    allowSharedKeyAccess: false
    defaultToOAuthAuthentication: true
    allowBlobPublicAccess: false
    minimumTlsVersion: 'TLS1_2'
    supportsHttpsTrafficOnly: true
    publicNetworkAccess: privateNetwork ? 'Disabled' : 'Enabled'
    networkAcls: privateNetwork
      ? { defaultAction: 'Deny', bypass: 'None' }
      : { defaultAction: 'Allow', bypass: 'AzureServices' }
  }
}

resource blobs 'Microsoft.Storage/storageAccounts/blobServices@2025-01-01' = {
  parent: storage
  name: 'default'
}

resource packageContainer 'Microsoft.Storage/storageAccounts/blobServices/containers@2025-01-01' = {
  parent: blobs
  name: deploymentContainer
}

resource queueService 'Microsoft.Storage/storageAccounts/queueServices@2025-01-01' = {
  parent: storage
  name: 'default'
}

// The backfill task queues and the poison queues the host moves failed tasks to: made here, not by the app,
// because the app's queue role is given on each of them (rbac.bicep), not on the account.
var taskQueues = ['backfill-pages', 'backfill-pages-poison', 'backfill-items', 'backfill-items-poison']

resource queues 'Microsoft.Storage/storageAccounts/queueServices/queues@2025-01-01' = [
  for queue in taskQueues: {
    parent: queueService
    name: queue
  }
]

output name string = storage.name
output id string = storage.id
output deploymentContainer string = packageContainer.name
output queues array = [for (q, i) in taskQueues: queues[i].name]
