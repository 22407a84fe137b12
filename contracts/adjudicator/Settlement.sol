// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {Holdings} from "./Holdings.sol";
import {Locks} from "./Locks.sol";
import {Payouts} from "./Payouts.sol";
import {StateHashing} from "./StateHashing.sol";
import {SignedStates} from "./SignedStates.sol";
import {ChannelCustody} from "./ChannelCustody.sol";
import {PayoutDelivery} from "./PayoutDelivery.sol";
import {HashlockRegistry} from "./HashlockRegistry.sol";

/**
 * @title Concluding a channel: cooperative close and settlement after a dispute
 * @author Clearline
 * @notice Concludes a channel at a co-signed final state, or at the registered state once its
 * challenge period is over and its locks are resolved, and pays both participants.
 * @dev A base of the Adjudicator.
 */
abstract contract Settlement is SignedStates, ChannelCustody, PayoutDelivery, HashlockRegistry {
    /**
     * @notice Closes the channel at once with a co-signed final state and pays both participants.
     * Allowed while open or disputed: no state can follow a final one.
     * @param params The channel's parameters.
     * @param state The co-signed final state.
     * @param signature0 Participant 0's EIP-712 signature of `state`.
     * @param signature1 Participant 1's EIP-712 signature of `state`.
     */
    function closeCooperatively(
        Params calldata params,
        State calldata state,
        bytes calldata signature0,
        bytes calldata signature1
    ) external nonReentrant {
        (bytes32 channelId, ) = _verifiedState(params, state, signature0, signature1);
        if (!state.isFinal) revert NotFinal(state.nonce);
        uint8 flags = _holding(channelId, 0).flags;
        if (flags & (Holdings.OPENED | Holdings.CONCLUDED) != Holdings.OPENED) {
            revert WrongPhase(channelId, _phaseOf(channelId, flags));
        }
        uint64 known = _record(channelId).nonce;
        if (state.nonce <= known) revert StaleNonce(known, state.nonce);
        _conclude(channelId, params, state.nonce, _netsOf(state), new int256[](params.assets.length));
    }

    /**
     * @notice Pays out a disputed channel once its challenge period is over and every lock of the
     * registered state is revealed or expired (or waited for MAX_LOCK_WAIT). Anyone may call it.
     * @param params The channel's parameters.
     * @param nets The registered state's nets, one per asset (from the StateRegistered event).
     * @param locks The registered state's locks (from the StateRegistered event).
     */
    function settle(
        Params calldata params,
        int256[] calldata nets,
        Lock[] calldata locks
    ) external nonReentrant {
        bytes32 channelId = StateHashing.channelId(params);
        Record memory record = _record(channelId);
        if (record.deadline == 0) revert WrongPhase(channelId, _phaseOf(channelId, _holding(channelId, 0).flags));
        if (block.timestamp < record.deadline) revert ChallengePeriodNotOver(record.deadline);
        bytes32 outcome = keccak256(abi.encode(nets, Locks.root(locks)));
        if (bytes19(outcome) != record.fingerprint) revert OutcomeMismatch(channelId, outcome);
        int256[] memory shifts = _resolveLocks(params.assets.length, locks, record.deadline);
        _conclude(channelId, params, record.nonce, nets, shifts);
    }

    /// @dev Marks the channel concluded, clears its balances, then pays out (checking movements).
    function _conclude(
        bytes32 channelId,
        Params calldata params,
        uint64 nonce,
        int256[] memory nets,
        int256[] memory shifts
    ) internal {
        Payouts.Payout[] memory payouts = _concludeHoldings(channelId, params.assets.length, nonce, nets, shifts);
        emit ChannelConcluded(channelId, nonce);
        _payAll(channelId, params, payouts);
    }

    /// @dev The state's nets, one per asset.
    function _netsOf(State calldata state) internal pure returns (int256[] memory nets) {
        uint256 count = state.allocations.length;
        nets = new int256[](count);
        for (uint256 i = 0; i < count; ++i) nets[i] = state.allocations[i].net;
    }
}
