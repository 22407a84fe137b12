// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";
import {Holdings} from "./Holdings.sol";
import {Locks} from "./Locks.sol";
import {Payouts} from "./Payouts.sol";
import {SignedStates} from "./SignedStates.sol";
import {ChannelCustody} from "./ChannelCustody.sol";
import {PayoutDelivery} from "./PayoutDelivery.sol";

/**
 * @title Withdrawing without closing: checkpoints
 * @author Clearline
 * @notice Pays out the withdrawals of a co-signed state beyond those of the previous checkpoint and
 * makes that state the channel's checkpoint.
 * @dev A base of the Adjudicator. What was withdrawn is not stored: the checkpointed state, whose
 * digest the record pins, is re-supplied by the next withdrawal.
 */
abstract contract Withdrawals is SignedStates, ChannelCustody, PayoutDelivery {
    using SafeCast for int256;

    /**
     * @notice Pays each participant `withdrawnX` of a co-signed state minus `withdrawnX` of the
     * checkpointed state (what was already paid) per asset, without closing. The state becomes the
     * checkpoint: no other state with a lower or equal nonce can be registered afterwards. What each
     * participant keeps must cover the state's net and its locks.
     * @param params The channel's parameters.
     * @param state The co-signed, non-final state.
     * @param signature0 Participant 0's EIP-712 signature of `state`.
     * @param signature1 Participant 1's EIP-712 signature of `state`.
     * @param locks The state's lock list (its root must be `state.locksRoot`; at most MAX_LOCKS).
     * @param checkpoint The state of the previous withdrawal (its digest must match the checkpoint's
     * fingerprint); before the first withdrawal, a state without allocations.
     */
    function withdraw(
        Params calldata params,
        State calldata state,
        bytes calldata signature0,
        bytes calldata signature1,
        Lock[] calldata locks,
        State calldata checkpoint
    ) external nonReentrant {
        (bytes32 channelId, bytes32 digest) = _verifiedState(params, state, signature0, signature1);
        if (state.isFinal) revert UnexpectedFinal(state.nonce);
        Payouts.Payout[] memory payouts = _checkpoint(channelId, digest, state, locks, checkpoint);
        emit Withdrawn(channelId, state.nonce);
        _payAll(channelId, params, payouts);
    }

    /// @dev Makes `state` (digest `digest`) the open channel's checkpoint and books its withdrawals
    /// beyond those of the previous `checkpoint`; returns what to pay.
    function _checkpoint(
        bytes32 channelId,
        bytes32 digest,
        State calldata state,
        Lock[] calldata locks,
        State calldata checkpoint
    ) private returns (Payouts.Payout[] memory) {
        uint8 flags = _holding(channelId, 0).flags;
        Record storage record = _record(channelId);
        if (flags & (Holdings.OPENED | Holdings.CONCLUDED) != Holdings.OPENED || record.deadline != 0) {
            revert WrongPhase(channelId, _phaseOf(channelId, flags));
        }
        if (state.nonce <= record.nonce) revert StaleNonce(record.nonce, state.nonce);
        Locks.check(state.locksRoot, locks);
        Payouts.Payout[] memory payouts = Payouts.withdrawalsBeyond(
            state.allocations,
            _checkpointedAllocations(record, checkpoint)
        );
        record.nonce = state.nonce;
        record.fingerprint = bytes19(digest);
        _recordWithdrawals(channelId, state.allocations, locks, payouts);
        return payouts;
    }

    /// @dev The checkpointed state's allocations (what was withdrawn so far): `checkpoint` must be the
    /// state whose digest the record pins, or have no allocations when there is no checkpoint.
    function _checkpointedAllocations(
        Record storage record,
        State calldata checkpoint
    ) private view returns (Allocation[] calldata) {
        bytes19 fingerprint = record.fingerprint;
        if (fingerprint == 0 ? checkpoint.allocations.length != 0 : bytes19(stateDigest(checkpoint)) != fingerprint) {
            revert CheckpointMismatch(checkpoint.nonce);
        }
        return checkpoint.allocations;
    }

    function _recordWithdrawals(
        bytes32 channelId,
        Allocation[] calldata allocations,
        Lock[] calldata locks,
        Payouts.Payout[] memory payouts
    ) private {
        (uint256[] memory locked0, uint256[] memory locked1) = Locks.lockedAmounts(payouts.length, locks);
        for (uint256 i = 0; i < payouts.length; ++i) {
            _recordWithdrawal(channelId, i, allocations[i], payouts[i], locked0[i], locked1[i]);
        }
    }

    /// @dev Books `payout`'s amounts (the withdrawals beyond the checkpoint's) against the asset's
    /// holding and fills in the rest of `payout`.
    function _recordWithdrawal(
        bytes32 channelId,
        uint256 assetIndex,
        Allocation calldata allocation,
        Payouts.Payout memory payout,
        uint256 locked0,
        uint256 locked1
    ) private {
        Holdings.Holding storage holdingSlot = _holding(channelId, assetIndex);
        Holdings.Holding memory holding = holdingSlot;
        int256 available0 = holding.available0;
        int256 available1 = holding.available1;
        // What each participant keeps after the withdrawal must still cover the state's net and its
        // locks: a participant may withdraw what it received off chain, never more than its balance.
        int256 remaining0 = available0 - int256(payout.amount0);
        int256 remaining1 = available1 - int256(payout.amount1);
        int256 net = allocation.net;
        if (remaining0 - net - int256(locked0) < 0) revert WithdrawalExceedsBalance(allocation.token, 0);
        if (remaining1 + net - int256(locked1) < 0) revert WithdrawalExceedsBalance(allocation.token, 1);
        payout.moved0 = Payouts.beyondOwn(payout.amount0, available0);
        payout.moved1 = Payouts.beyondOwn(payout.amount1, available1);
        payout.restricted = holding.flags & Holdings.RESTRICTED != 0;
        holdingSlot.available0 = remaining0.toInt120();
        holdingSlot.available1 = remaining1.toInt120();
    }
}
