// Where users drop blobs. BlobCreated events go through an Event Grid system topic to the landing-events
// queue (the subscription is in landingEvents.bicep, created once its roles exist).
param name string
param location string
param tags object
@description('A Data Lake (hierarchical namespace) account; fixed at creation.')
param hierarchicalNamespace bool = false
@description('Days an ingested blob stays in landing-done before a lifecycle rule deletes it; 0 keeps it.')
param doneRetentionDays int = 0
@description('Private network (vnetEnabled): the firewall denies by default. The app reaches the account through private endpoints; Event Grid delivers to its queue as a trusted service with its system topic\'s identity (the bypass); Kusto reads through its managed private endpoint.')
param privateNetwork bool = false
@description('With privateNetwork: public IP addresses or CIDR ranges allowed to upload to the landing account (the uploaders outside the VNet).')
param allowedIpRanges array = []

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
    isHnsEnabled: hierarchicalNamespace
    // Not closed like the app's account: Event Grid delivers to the events queue from outside any VNet,
    // which a firewalled queue allows only to a trusted service with its own identity (MicrosoftDocs/
    // azure-docs, articles/event-grid/handler-storage-queues.md and managed-service-identity.md).
    publicNetworkAccess: 'Enabled'
    networkAcls: privateNetwork
      ? {
          defaultAction: 'Deny'
          bypass: 'AzureServices'
          ipRules: [for range in allowedIpRanges: { value: range, action: 'Allow' }]
        }
      : { defaultAction: 'Allow', bypass: 'AzureServices' }
  }
}

resource blobs 'Microsoft.Storage/storageAccounts/blobServices@2025-01-01' = {
  parent: storage
  name: 'default'
}

resource containers 'Microsoft.Storage/storageAccounts/blobServices/containers@2025-01-01' = [
  for container in ['landing', 'landing-failed', 'landing-done', 'landing-deadletter']: {
    parent: blobs
    name: container
  }
]

// Blobs moved to landing-done after their ingestion (LANDING_ON_SUCCESS=move) go after doneRetentionDays.
resource lifecycle 'Microsoft.Storage/storageAccounts/managementPolicies@2025-01-01' = if (doneRetentionDays > 0) {
  parent: storage
  name: 'default'
  properties: {
    policy: {
      rules: [
        {
          name: 'expire-landing-done'
          enabled: true
          type: 'Lifecycle'
          definition: {
            filters: { blobTypes: ['blockBlob'], prefixMatch: ['landing-done/'] }
            actions: { baseBlob: { delete: { daysAfterModificationGreaterThan: doneRetentionDays } } }
          }
        }
      ]
    }
  }
  dependsOn: [containers]
}

resource queues 'Microsoft.Storage/storageAccounts/queueServices@2025-01-01' = {
  parent: storage
  name: 'default'
}

resource eventsQueue 'Microsoft.Storage/storageAccounts/queueServices/queues@2025-01-01' = {
  parent: queues
  name: 'landing-events'
}

resource poisonQueue 'Microsoft.Storage/storageAccounts/queueServices/queues@2025-01-01' = {
  parent: queues
  name: 'landing-events-poison'
}

resource systemTopic 'Microsoft.EventGrid/systemTopics@2025-02-15' = {
  name: '${name}-events'
  location: location
  tags: tags
  identity: { type: 'SystemAssigned' }
  properties: {
    source: storage.id
    topicType: 'Microsoft.Storage.StorageAccounts'
  }
}

output name string = storage.name
output id string = storage.id
output eventsQueue string = eventsQueue.name
output poisonQueue string = poisonQueue.name
output containers array = [
  for (c, i) in ['landing', 'landing-failed', 'landing-done', 'landing-deadletter']: containers[i].name
]
output systemTopicName string = systemTopic.name
output systemTopicPrincipalId string = systemTopic.identity.principalId
