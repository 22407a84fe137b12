// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";
import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";
import {IAdjudicator} from "../interfaces/IAdjudicator.sol";
import {Holdings} from "./Holdings.sol";
import {Payouts} from "./Payouts.sol";
import {StateHashing} from "./StateHashing.sol";
import {TokenCalls} from "./TokenCalls.sol";
import {Validation} from "./Validation.sol";

/**
 * @title What each channel holds and where it stands
 * @author Clearline
 * @notice Opens and funds channels and keeps their storage: per asset what is held for each
 * participant, per channel the record of its dispute or withdrawal checkpoint, hence its phase.
 * @dev Storage per channel: one slot per asset (flags and what is held for each participant; asset
 * 0's slot also carries "opened" and "concluded") and one record slot (nonce, deadline and a
 * fingerprint of the registered outcome or of the checkpointed state's digest). What was withdrawn
 * is not stored: it is the checkpointed state's `withdrawn`, which the next withdrawal re-supplies.
 * The other bases of the Adjudicator reach this storage through the internal functions below.
 */
abstract contract ChannelCustody is IAdjudicator, ReentrancyGuardTransient {
    using SafeERC20 for IERC20;
    using SafeCast for uint256;
    using SafeCast for int256;

    /// @dev While disputed: the registered nonce, the deadline and the outcome's fingerprint. While
    /// open: the last withdrawal checkpoint's nonce and its digest's fingerprint (zero: none), deadline 0.
    /// Deleted when the channel concludes.
    struct Record {
        uint64 nonce;
        uint40 deadline;
        bytes19 fingerprint;
    }

    mapping(bytes32 channelId => mapping(uint256 assetIndex => Holdings.Holding)) private _holdings;
    mapping(bytes32 channelId => Record) private _records;

    /**
     * @notice Opens a channel and optionally makes the caller's first deposit in the same transaction.
     * @param params The channel's fixed parameters; the caller must be a participant.
     * @param assetIndex Which asset the first deposit is in (ignored when `amount` is 0).
     * @param amount The first deposit (0 for none); the caller must have approved it.
     * @return channelId The new channel's id.
     */
    function open(
        Params calldata params,
        uint256 assetIndex,
        uint256 amount
    ) external nonReentrant returns (bytes32 channelId) {
        Validation.checkParams(params);
        uint256 participantIndex = Validation.participantIndex(params, msg.sender);
        channelId = StateHashing.channelId(params);
        Holdings.Holding storage first = _holdings[channelId][0];
        uint8 flags = first.flags;
        if (flags != 0) revert WrongPhase(channelId, _phaseOf(channelId, flags));
        first.flags = Holdings.OPENED;
        emit ChannelOpened(
            channelId,
            params.participants[0],
            params.participants[1],
            params.assets,
            params.challengePeriod,
            params.salt
        );
        if (amount == 0) return channelId;
        if (assetIndex >= params.assets.length) revert InvalidAssetIndex(assetIndex);
        Holdings.Holding storage slot = _holdings[channelId][assetIndex];
        _deposit(channelId, params, participantIndex, assetIndex, amount, slot, slot);
    }

    /**
     * @notice Deposits `amount` of asset `assetIndex` for the caller; allowed until the channel concludes.
     * A deposit made after the last signed state is simply credited to its depositor. The token must
     * deliver exactly `amount` (fee-on-transfer tokens are refused).
     * @param params The channel's parameters; the caller must be a participant.
     * @param assetIndex Which of the channel's assets.
     * @param amount How much; the caller must have approved it.
     */
    function deposit(Params calldata params, uint256 assetIndex, uint256 amount) external nonReentrant {
        bytes32 channelId = StateHashing.channelId(params);
        if (assetIndex >= params.assets.length) revert InvalidAssetIndex(assetIndex);
        Holdings.Holding storage slot = _holdings[channelId][assetIndex];
        Holdings.Holding memory holding = slot;
        // Asset 0's slot carries the phase; for another asset it is one more read.
        uint8 phaseFlags = assetIndex == 0 ? holding.flags : _holdings[channelId][0].flags;
        if (phaseFlags & (Holdings.OPENED | Holdings.CONCLUDED) != Holdings.OPENED) {
            revert WrongPhase(channelId, _phaseOf(channelId, phaseFlags));
        }
        if (amount == 0) revert ZeroAmount(assetIndex);
        _deposit(channelId, params, Validation.participantIndex(params, msg.sender), assetIndex, amount, slot, holding);
    }

    /**
     * @notice A channel's phase, its registered or checkpointed nonce, and its dispute deadline.
     * @param channelId The channel.
     * @return phase Where the channel is (None: never opened).
     * @return nonce While disputed the registered nonce; while open the last checkpoint (0: none);
     * once concluded the nonce of the state it concluded with.
     * @return deadline End of the challenge period while disputed, else 0.
     */
    function channel(bytes32 channelId) external view returns (Phase phase, uint64 nonce, uint64 deadline) {
        Holdings.Holding storage first = _holdings[channelId][0];
        if (first.flags & Holdings.CONCLUDED != 0) return (Phase.Concluded, uint64(uint120(first.available0)), 0);
        Record storage record = _records[channelId];
        return (_phaseOf(channelId, first.flags), record.nonce, record.deadline);
    }

    /**
     * @notice What the channel holds of asset `assetIndex` for each participant: deposits minus
     * withdrawals (negative once a participant withdrew funds it received). What each withdrew is
     * the checkpointed state's `withdrawn` (the `Withdrawn` event names its nonce).
     * @param channelId The channel.
     * @param assetIndex The asset's index in the channel's parameters.
     * @return available0 Held for participant 0.
     * @return available1 Held for participant 1.
     */
    function holdings(bytes32 channelId, uint256 assetIndex) external view returns (int256 available0, int256 available1) {
        // A concluded channel holds nothing (asset 0's slot keeps the concluded nonce).
        if (_holdings[channelId][0].flags & Holdings.CONCLUDED != 0) return (0, 0);
        Holdings.Holding storage holding = _holdings[channelId][assetIndex];
        return (holding.available0, holding.available1);
    }

    /// @dev The channel's holding slot of asset `assetIndex` (asset 0's carries the phase flags).
    function _holding(bytes32 channelId, uint256 assetIndex) internal view returns (Holdings.Holding storage) {
        return _holdings[channelId][assetIndex];
    }

    /// @dev The channel's record slot.
    function _record(bytes32 channelId) internal view returns (Record storage) {
        return _records[channelId];
    }

    /// @dev Replaces the channel's record (one write of the packed slot). Takes the fields: with a
    /// `Record memory` parameter the optimizer does not inline it (docs/gas.md).
    function _setRecord(bytes32 channelId, uint64 nonce, uint40 deadline, bytes19 fingerprint) internal {
        _records[channelId] = Record(nonce, deadline, fingerprint);
    }

    /// @dev The phase from asset 0's flags and the record: only a disputed channel has a deadline.
    function _phaseOf(bytes32 channelId, uint8 flags) internal view returns (Phase) {
        if (flags & Holdings.CONCLUDED != 0) return Phase.Concluded;
        if (flags & Holdings.OPENED == 0) return Phase.None;
        return _records[channelId].deadline != 0 ? Phase.Disputed : Phase.Open;
    }

    /// @dev Marks the channel concluded at `nonce`, clears its holdings and record, and returns what
    /// each asset pays at `nets` plus `shifts` (with the movements a restricted token checks).
    function _concludeHoldings(
        bytes32 channelId,
        uint256 assetCount,
        uint64 nonce,
        int256[] memory nets,
        int256[] memory shifts
    ) internal returns (Payouts.Payout[] memory payouts) {
        payouts = new Payouts.Payout[](assetCount);
        for (uint256 i = 0; i < assetCount; ++i) {
            Holdings.Holding memory holding = _holdings[channelId][i];
            Payouts.Payout memory payout = payouts[i];
            (payout.amount0, payout.amount1) = Payouts.split(
                holding.available0,
                holding.available1,
                nets[i] + shifts[i]
            );
            payout.moved0 = Payouts.beyondOwn(payout.amount0, holding.available0);
            payout.moved1 = Payouts.beyondOwn(payout.amount1, holding.available1);
            payout.restricted = holding.flags & Holdings.RESTRICTED != 0;
            if (i == 0) _holdings[channelId][0] = Holdings.Holding(Holdings.CONCLUDED_FLAGS, int120(uint120(nonce)), 0);
            else delete _holdings[channelId][i];
        }
        delete _records[channelId];
    }

    /// @dev Credits `amount` to `holding` (the slot's current value) and writes the slot once.
    function _deposit(
        bytes32 channelId,
        Params calldata params,
        uint256 participantIndex,
        uint256 assetIndex,
        uint256 amount,
        Holdings.Holding storage slot,
        Holdings.Holding memory holding
    ) private {
        address token = params.assets[assetIndex];
        if (holding.flags & Holdings.PROBED == 0) {
            holding.flags |= Holdings.PROBED | (TokenCalls.isRestricted(token) ? Holdings.RESTRICTED : 0);
        }
        // Credit only what arrived: a token that delivers less (or more) would let this channel
        // take value from other channels of the same token at payout.
        uint256 before = TokenCalls.balanceOfThis(token);
        IERC20(token).safeTransferFrom(msg.sender, address(this), amount);
        uint256 received = TokenCalls.balanceOfThis(token) - before;
        if (received != amount) revert DeliveryMismatch(token, amount, received);
        if (participantIndex == 0) holding.available0 = (int256(holding.available0) + amount.toInt256()).toInt120();
        else holding.available1 = (int256(holding.available1) + amount.toInt256()).toInt120();
        Holdings.write(slot, holding);
        emit Deposited(channelId, token, msg.sender, amount);
    }
}
