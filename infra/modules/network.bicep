// The private network (main.bicep's vnetEnabled), as the official Flex Consumption template builds it
// (Azure-Samples/functions-quickstart-typescript-azd, infra/app/vnet.bicep and storage-PrivateEndpoint.bicep):
// a VNet with a subnet the function app integrates into (delegated to Microsoft.App/environments) and one
// for private endpoints, private endpoints for the app's storage (blob, queue, table) and the landing
// account (blob, queue: what the app and the host use), and one private DNS zone per service, named from
// this cloud's storage suffix. Besides: a NAT gateway, the app subnet's one way out.
//
// Why a NAT gateway: with VNet integration the app's outbound traffic goes into the VNet, and it must still
// reach what has no private endpoint here: the Kusto ingestion endpoint and its temp storage, Entra ID
// (tokens, and the tenant's signing keys the operator API checks), Application Insights. A new subnet has
// no default outbound access (Azure retired it for new virtual networks; MicrosoftDocs/azure-docs,
// articles/virtual-network/ip-services/default-outbound-access.md: "NAT gateway is the recommended approach
// to have explicit outbound connectivity"), so the subnet says so explicitly and gets a NAT gateway.
param name string
param location string
param tags object
param appStorageName string
param landingStorageName string
@description('The address space of the VNet; the app subnet and the private endpoint subnet are /24s in it.')
param addressPrefix string = '10.0.0.0/16'

resource appStorage 'Microsoft.Storage/storageAccounts@2025-01-01' existing = {
  name: appStorageName
}

resource landingStorage 'Microsoft.Storage/storageAccounts@2025-01-01' existing = {
  name: landingStorageName
}

resource natIp 'Microsoft.Network/publicIPAddresses@2025-05-01' = {
  name: '${name}-nat-ip'
  location: location
  tags: tags
  sku: { name: 'Standard' }
  properties: { publicIPAllocationMethod: 'Static', publicIPAddressVersion: 'IPv4' }
}

resource nat 'Microsoft.Network/natGateways@2025-05-01' = {
  name: '${name}-nat'
  location: location
  tags: tags
  sku: { name: 'Standard' }
  properties: { publicIpAddresses: [{ id: natIp.id }], idleTimeoutInMinutes: 4 }
}

resource vnet 'Microsoft.Network/virtualNetworks@2025-05-01' = {
  name: name
  location: location
  tags: tags
  properties: {
    addressSpace: { addressPrefixes: [addressPrefix] }
    subnets: [
      {
        name: 'private-endpoints'
        properties: {
          addressPrefix: cidrSubnet(addressPrefix, 24, 1)
          privateEndpointNetworkPolicies: 'Disabled'
          defaultOutboundAccess: false
        }
      }
      {
        name: 'app'
        properties: {
          addressPrefix: cidrSubnet(addressPrefix, 24, 2)
          delegations: [{ name: 'flex', properties: { serviceName: 'Microsoft.App/environments' } }]
          natGateway: { id: nat.id }
          defaultOutboundAccess: false
        }
      }
    ]
  }
}

// One zone per storage service, from this cloud's suffix (no cloud's host name is written here).
var services = ['blob', 'queue', 'table']

resource zones 'Microsoft.Network/privateDnsZones@2024-06-01' = [
  for service in services: {
    name: 'privatelink.${service}.${environment().suffixes.storage}'
    location: 'global'
    tags: tags
  }
]

resource zoneLinks 'Microsoft.Network/privateDnsZones/virtualNetworkLinks@2024-06-01' = [
  for (service, i) in services: {
    parent: zones[i]
    name: '${name}-link'
    location: 'global'
    tags: tags
    properties: { virtualNetwork: { id: vnet.id }, registrationEnabled: false }
  }
]

// What the app and the host reach privately: the app's account (host state, deployment package, tracking
// tables, backfill queues) and the landing account (blobs, the events queue). `zone` indexes `services`.
var endpoints = [
  { account: appStorage.id, accountName: appStorage.name, service: 'blob', zone: 0 }
  { account: appStorage.id, accountName: appStorage.name, service: 'queue', zone: 1 }
  { account: appStorage.id, accountName: appStorage.name, service: 'table', zone: 2 }
  { account: landingStorage.id, accountName: landingStorage.name, service: 'blob', zone: 0 }
  { account: landingStorage.id, accountName: landingStorage.name, service: 'queue', zone: 1 }
]

resource privateEndpoints 'Microsoft.Network/privateEndpoints@2025-05-01' = [
  for endpoint in endpoints: {
    name: '${endpoint.accountName}-${endpoint.service}-pe'
    location: location
    tags: tags
    properties: {
      subnet: { id: vnet.properties.subnets[0].id }
      privateLinkServiceConnections: [
        {
          name: '${endpoint.accountName}-${endpoint.service}'
          properties: { privateLinkServiceId: endpoint.account, groupIds: [endpoint.service] }
        }
      ]
    }
  }
]

resource zoneGroups 'Microsoft.Network/privateEndpoints/privateDnsZoneGroups@2025-05-01' = [
  for (endpoint, i) in endpoints: {
    parent: privateEndpoints[i]
    name: 'default'
    properties: {
      privateDnsZoneConfigs: [
        { name: endpoint.service, properties: { privateDnsZoneId: zones[endpoint.zone].id } }
      ]
    }
  }
]

output appSubnetId string = vnet.properties.subnets[1].id
output natPublicIp string = natIp.properties.ipAddress
