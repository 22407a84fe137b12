// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {Holdings} from "./Holdings.sol";
import {Locks} from "./Locks.sol";
import {StateHashing} from "./StateHashing.sol";
import {Validation} from "./Validation.sol";
import {Settlement} from "./Settlement.sol";

/**
 * @title Disputes: registering a state on chain and answering it
 * @author Clearline
 * @notice Starts a dispute with a co-signed state (or none at all) and lets the other side answer
 * with a newer one within the challenge period (docs/protocol.md, "Challenge-window rule").
 * @dev A base of the Adjudicator. Disputes cost the same whatever the number of updates: only the
 * latest registration is kept, as a fingerprint in the channel's record.
 */
abstract contract Disputes is Settlement {
    /**
     * @notice Starts a dispute with a co-signed state; anyone may submit it. A final state
     * concludes the channel at once; any other starts the challenge period.
     * @param params The channel's parameters.
     * @param state The co-signed state: newer than the checkpoint, or the checkpointed state itself.
     * @param signature0 Participant 0's EIP-712 signature of `state`.
     * @param signature1 Participant 1's EIP-712 signature of `state`.
     * @param locks The state's lock list (its root must be `state.locksRoot`; at most MAX_LOCKS).
     */
    function forceClose(
        Params calldata params,
        State calldata state,
        bytes calldata signature0,
        bytes calldata signature1,
        Lock[] calldata locks
    ) external nonReentrant {
        (bytes32 channelId, bytes32 digest) = _verifiedState(params, state, signature0, signature1);
        Record storage record = _undisputedRecord(channelId);
        // The checkpointed state itself may be registered; no other of its nonce, nor anything older.
        if (record.fingerprint != 0) {
            if (state.nonce < record.nonce) revert StaleNonce(record.nonce, state.nonce);
            if (state.nonce == record.nonce && bytes19(digest) != record.fingerprint) {
                revert CheckpointMismatch(state.nonce);
            }
        }
        _register(channelId, params, record, state, locks);
    }

    /**
     * @notice Starts a dispute without any signed state: every participant gets back what it holds
     * in the channel. Only a participant may do this, and only before any withdrawal checkpoint, so
     * funds are never stuck when the counterparty vanishes before signing anything.
     * @param params The channel's parameters; the caller must be a participant.
     */
    function forceCloseWithoutState(Params calldata params) external nonReentrant {
        Validation.participantIndex(params, msg.sender);
        bytes32 channelId = StateHashing.channelId(params);
        Record storage record = _undisputedRecord(channelId);
        if (record.fingerprint != 0) revert CheckpointExists(record.nonce);
        int256[] memory nets = new int256[](params.assets.length);
        uint40 deadline = uint40(block.timestamp + params.challengePeriod);
        _setRecord(channelId, 0, deadline, StateHashing.outcomeFingerprint(nets, bytes32(0)));
        emit StateRegistered(channelId, 0, deadline, nets, new Lock[](0));
    }

    /**
     * @notice Answers a dispute with a newer co-signed state before the deadline. The deadline
     * moves to at least `now + challengePeriod`, so the other side always has a full period to
     * answer the latest registration (see docs/protocol.md, "Challenge-window rule").
     * @param params The channel's parameters.
     * @param state The co-signed state, with a nonce above the registered one.
     * @param signature0 Participant 0's EIP-712 signature of `state`.
     * @param signature1 Participant 1's EIP-712 signature of `state`.
     * @param locks The state's lock list (its root must be `state.locksRoot`; at most MAX_LOCKS).
     */
    function challenge(
        Params calldata params,
        State calldata state,
        bytes calldata signature0,
        bytes calldata signature1,
        Lock[] calldata locks
    ) external nonReentrant {
        (bytes32 channelId, ) = _verifiedState(params, state, signature0, signature1);
        Record storage record = _record(channelId);
        uint40 deadline = record.deadline;
        // A disputed channel is the only one with a deadline (concluding clears it).
        if (deadline == 0) revert WrongPhase(channelId, _phaseOf(channelId, _holding(channelId, 0).flags));
        if (block.timestamp >= deadline) revert ChallengePeriodOver(deadline);
        if (state.nonce <= record.nonce) revert StaleNonce(record.nonce, state.nonce);
        _register(channelId, params, record, state, locks);
    }

    /// @dev The record of a channel that is open and not disputed (a dispute may start); else WrongPhase.
    function _undisputedRecord(bytes32 channelId) private view returns (Record storage record) {
        uint8 flags = _holding(channelId, 0).flags;
        record = _record(channelId);
        if (flags & (Holdings.OPENED | Holdings.CONCLUDED) != Holdings.OPENED || record.deadline != 0) {
            revert WrongPhase(channelId, _phaseOf(channelId, flags));
        }
    }

    /// @dev Registers `state`: a final one concludes the channel, any other (re)starts the
    /// challenge period, never shortening a deadline already set.
    function _register(
        bytes32 channelId,
        Params calldata params,
        Record storage record,
        State calldata state,
        Lock[] calldata locks
    ) private {
        bytes32 root = Locks.check(state.locksRoot, locks);
        int256[] memory nets = _netsOf(state);
        if (state.isFinal) {
            _conclude(channelId, params, state.nonce, nets, new int256[](params.assets.length));
            return;
        }
        uint40 answerBy = uint40(block.timestamp + params.challengePeriod);
        uint40 deadline = record.deadline > answerBy ? record.deadline : answerBy;
        _setRecord(channelId, state.nonce, deadline, StateHashing.outcomeFingerprint(nets, root));
        emit StateRegistered(channelId, state.nonce, deadline, nets, locks);
    }
}
