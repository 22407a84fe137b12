// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";
import {IAdjudicator} from "../interfaces/IAdjudicator.sol";

/**
 * @title What a channel pays each participant
 * @author Clearline
 * @notice The arithmetic of payouts: splitting an asset at a net, withdrawals beyond a checkpoint,
 * and which part of a payout was the counterparty's funds (the part a restricted token checks).
 * @dev Internal functions only: inlined into the Adjudicator, no deployment of their own.
 */
library Payouts {
    using SafeCast for int256;

    /// @dev What one asset pays each participant, and which part of it is the counterparty's funds.
    struct Payout {
        uint256 amount0;
        uint256 amount1;
        uint256 moved0; // part of amount0 that participant 1 owned
        uint256 moved1; // part of amount1 that participant 0 owned
        bool restricted;
    }

    /**
     * @notice Splits what the channel holds of an asset at `net`. Never more than held.
     * @param available0 Held for participant 0.
     * @param available1 Held for participant 1.
     * @param net What moves from participant 0 to participant 1.
     * @return payout0 clamp(available0 - net, 0, total).
     * @return payout1 total - payout0.
     */
    function split(
        int256 available0,
        int256 available1,
        int256 net
    ) internal pure returns (uint256 payout0, uint256 payout1) {
        // Withdrawals keep both sides covered, so what the channel holds is never negative.
        uint256 total = (available0 + available1).toUint256();
        int256 owed0 = available0 - net;
        if (owed0 <= 0) payout0 = 0;
        else if (uint256(owed0) >= total) payout0 = total;
        else payout0 = uint256(owed0);
        payout1 = total - payout0;
    }

    /**
     * @notice The part of `amount` paid to a participant beyond what it owned in the channel.
     * @param amount The payout.
     * @param available What the channel held for the participant.
     * @return The part that was the counterparty's.
     */
    function beyondOwn(uint256 amount, int256 available) internal pure returns (uint256) {
        uint256 own = available > 0 ? uint256(available) : 0;
        return amount > own ? amount - own : 0;
    }

    /**
     * @notice Per asset, the withdrawals of `allocations` beyond those of the checkpoint's `paid`
     * allocations (which are one per asset, their digest verified; none before the first withdrawal).
     * @param allocations The new state's allocations.
     * @param paid The checkpointed state's allocations.
     * @return payouts Per asset, the amounts to pay (the rest of each payout still to fill in).
     */
    function withdrawalsBeyond(
        IAdjudicator.Allocation[] calldata allocations,
        IAdjudicator.Allocation[] calldata paid
    ) internal pure returns (Payout[] memory payouts) {
        uint256 assetCount = allocations.length;
        payouts = new Payout[](assetCount);
        bool first = paid.length == 0;
        for (uint256 i = 0; i < assetCount; ++i) {
            IAdjudicator.Allocation calldata allocation = allocations[i];
            (uint256 paid0, uint256 paid1) = first ? (0, 0) : (paid[i].withdrawn0, paid[i].withdrawn1);
            if (allocation.withdrawn0 < paid0) revert IAdjudicator.WithdrawalDecreased(allocation.token, 0);
            if (allocation.withdrawn1 < paid1) revert IAdjudicator.WithdrawalDecreased(allocation.token, 1);
            payouts[i].amount0 = allocation.withdrawn0 - paid0;
            payouts[i].amount1 = allocation.withdrawn1 - paid1;
        }
    }
}
