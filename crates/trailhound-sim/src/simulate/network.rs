//! The organisation's network as CloudTrail sees it being built: `AllocateAddress` + `CreateNatGateway`
//! (the NAT gateway's Elastic IP, shared by every instance behind it) and `CreateVpcEndpoint` (the
//! endpoints instances in private and isolated subnets call through).
use super::clock;
use super::ec2::{emit, resolve, By};
use super::out::Out;
use super::world::World;

/// `AllocateAddress` and `CreateNatGateway` for NAT gateway `nat` of network `net`.
pub(crate) fn nat_gateway(w: &mut World, out: &mut Out, t: i64, net_i: usize, nat_i: usize) {
    let (acct, region) = (w.org.nets[net_i].acct, w.org.nets[net_i].region);
    let (caller, ip, client) = resolve(w, acct, By::Admin, t);
    let net = &w.org.nets[net_i];
    let nat = &net.nats[nat_i];
    let region_name = World::region(region);
    let rid = w.rng.uuid();
    let resp = format!("{{\"requestId\":\"{}\",\"publicIp\":\"{}\",\"domain\":\"vpc\",\"allocationId\":\"{}\",\"publicIpv4Pool\":\"amazon\",\"networkBorderGroup\":\"{region_name}\"}}", rid.as_str(), nat.eip, nat.alloc);
    let (alloc, nat_id, subnet, vpc) = (
        nat.alloc.clone(),
        nat.id.clone(),
        net.subnets[nat.subnet].id.clone(),
        net.vpc.clone(),
    );
    emit(
        w,
        out,
        t,
        acct,
        region,
        &caller,
        &ip,
        client,
        "AllocateAddress",
        false,
        "{\"domain\":\"vpc\"}",
        Some(&resp),
        rid.as_str(),
    );
    let rid = w.rng.uuid();
    let token = w.rng.uuid().as_str().to_uppercase();
    let mut created = String::new();
    clock::iso_millis(&mut created, t + 6);
    let req = format!("{{\"CreateNatGatewayRequest\":{{\"ConnectivityType\":\"public\",\"AllocationId\":\"{alloc}\",\"SubnetId\":\"{subnet}\",\"ClientToken\":\"{token}\"}}}}");
    let resp = format!("{{\"CreateNatGatewayResponse\":{{\"xmlns\":\"http://ec2.amazonaws.com/doc/2016-11-15/\",\"natGateway\":{{\"connectivityType\":\"public\",\"subnetId\":\"{subnet}\",\"natGatewayAddressSet\":{{\"item\":{{\"isPrimary\":true,\"allocationId\":\"{alloc}\",\"status\":\"associating\"}}}},\"createTime\":\"{created}\",\"vpcId\":\"{vpc}\",\"natGatewayId\":\"{nat_id}\",\"state\":\"pending\"}},\"requestId\":\"{}\",\"clientToken\":\"{token}\"}}}}", rid.as_str());
    emit(
        w,
        out,
        t + 6,
        acct,
        region,
        &caller,
        &ip,
        client,
        "CreateNatGateway",
        false,
        &req,
        Some(&resp),
        rid.as_str(),
    );
}

/// `CreateVpcEndpoint` for endpoint `v` of network `net`.
pub(crate) fn vpc_endpoint(w: &mut World, out: &mut Out, t: i64, net_i: usize, v: usize) {
    let (acct, region) = (w.org.nets[net_i].acct, w.org.nets[net_i].region);
    let (caller, ip, client) = resolve(w, acct, By::Admin, t);
    let net = &w.org.nets[net_i];
    let e = &net.vpces[v];
    let region_name = World::region(region);
    let service = format!(
        "com.amazonaws.{region_name}.{}",
        if e.svc == super::calls::Svc::Ecr {
            "ecr.api"
        } else {
            e.svc.prefix()
        }
    );
    let kind = if e.gateway { "Gateway" } else { "Interface" };
    let rid = w.rng.uuid();
    let token = w.rng.uuid().as_str().to_uppercase();
    let mut created = String::new();
    clock::iso_millis(&mut created, t);
    let req = format!("{{\"CreateVpcEndpointRequest\":{{\"VpcId\":\"{}\",\"ServiceName\":\"{service}\",\"VpcEndpointType\":\"{kind}\",\"PrivateDnsEnabled\":{},\"ClientToken\":\"{token}\"}}}}", net.vpc, !e.gateway);
    let resp = format!("{{\"CreateVpcEndpointResponse\":{{\"xmlns\":\"http://ec2.amazonaws.com/doc/2016-11-15/\",\"vpcEndpoint\":{{\"vpcEndpointId\":\"{}\",\"vpcEndpointType\":\"{kind}\",\"vpcId\":\"{}\",\"serviceName\":\"{service}\",\"state\":\"pending\",\"privateDnsEnabled\":{},\"requesterManaged\":false,\"creationTimestamp\":\"{created}\",\"ownerId\":\"{}\"}},\"requestId\":\"{}\",\"clientToken\":\"{token}\"}}}}", e.id, net.vpc, !e.gateway, w.org.accounts[acct].id, rid.as_str());
    emit(
        w,
        out,
        t,
        acct,
        region,
        &caller,
        &ip,
        client,
        "CreateVpcEndpoint",
        false,
        &req,
        Some(&resp),
        rid.as_str(),
    );
}
