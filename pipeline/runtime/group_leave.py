"""The consumer group's leader leaves by session expiry instead of a LeaveGroup request.

Tansu (the embedded broker) keeps a group's leader when the leader
sends LeaveGroup while the group is re-forming (tansu-broker coordinator/group/administrator.rs, the leave of
`Inner<O, Forming>`, 0.6.0 and still on its main branch): the member is removed but stays named as leader,
and only a missed heartbeat of a *present* member clears it. Every member that joins afterwards is told to
wait for that leader's assignment, its SyncGroup is refused, and it re-joins forever (same generation every
13 s, never ready). Workers stopped together reach that state whenever a follower's LeaveGroup arrives
before the leader's, e.g. `docker compose up` replacing a layout's workers.

A leader that just stops sending heartbeats is removed by the session timeout, which clears the leader
properly. Followers still leave at once. On real Kafka the cost is a rebalance one session timeout
(NEWSFEED_SESSION_TIMEOUT) later when the leader stops; nothing is lost or processed twice either way.
"""

from __future__ import annotations

import logging

import aiokafka.consumer.consumer
from aiokafka.consumer.group_coordinator import GroupCoordinator

log = logging.getLogger("newsfeed.group")


class LeaderStaysCoordinator(GroupCoordinator):
    """aiokafka's group coordinator, remembering whether the broker's last JoinGroup answer named it leader."""

    named_leader = False

    async def _send_req(self, request):
        response = await super()._send_req(request)
        if hasattr(response, "leader_id") and getattr(response, "error_code", 1) == 0:   # a JoinGroup answer
            self.named_leader = response.leader_id == response.member_id
        return response

    async def _maybe_leave_group(self):
        if self.named_leader and self.generation > 0 and self._group_instance_id is None:
            log.info("not sending LeaveGroup for %s: this member is the group's leader; the broker removes it "
                     "after the session timeout", self.group_id)
            self.reset_generation()
            return
        await super()._maybe_leave_group()


def install_group_leave() -> None:
    """aiokafka's consumer builds its coordinator by this module-level name in AIOKafkaConsumer.start()."""
    aiokafka.consumer.consumer.GroupCoordinator = LeaderStaysCoordinator
