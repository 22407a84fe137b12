// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
import {IAdjudicator} from "../interfaces/IAdjudicator.sol";

/**
 * @title Checks on what a caller supplies: parameters, allocations, signatures
 * @author Clearline
 * @notice Each check reverts with the Adjudicator's typed error naming what is wrong.
 * @dev Internal functions only: inlined into the Adjudicator, no deployment of their own.
 */
library Validation {
    /// @dev The most assets a channel may hold.
    uint256 internal constant MAX_ASSETS = 4;
    /// @dev Shortest allowed challenge period, in seconds.
    uint64 internal constant MIN_CHALLENGE_PERIOD = 60;
    /// @dev Longest allowed challenge period, in seconds.
    uint64 internal constant MAX_CHALLENGE_PERIOD = 30 days;

    /**
     * @notice Two distinct, non-zero participants; 1 to MAX_ASSETS distinct, non-zero assets; a challenge
     * period within bounds.
     * @param params The channel's parameters.
     */
    function checkParams(IAdjudicator.Params calldata params) internal pure {
        address p0 = params.participants[0];
        address p1 = params.participants[1];
        if (p0 == address(0)) revert IAdjudicator.ZeroParticipant(0);
        if (p1 == address(0)) revert IAdjudicator.ZeroParticipant(1);
        if (p0 == p1) revert IAdjudicator.SameParticipants(p0);
        uint256 assetCount = params.assets.length;
        if (assetCount == 0 || assetCount > MAX_ASSETS) revert IAdjudicator.InvalidAssetCount(assetCount);
        for (uint256 i = 0; i < assetCount; ++i) {
            address asset = params.assets[i];
            if (asset == address(0)) revert IAdjudicator.ZeroAsset(i);
            for (uint256 j = 0; j < i; ++j) {
                if (params.assets[j] == asset) revert IAdjudicator.DuplicateAsset(asset);
            }
        }
        uint64 period = params.challengePeriod;
        if (period < MIN_CHALLENGE_PERIOD || period > MAX_CHALLENGE_PERIOD) {
            revert IAdjudicator.InvalidChallengePeriod(period);
        }
    }

    /**
     * @notice Which participant `account` is.
     * @param params The channel's parameters.
     * @param account The account.
     * @return 0 or 1; reverts with NotParticipant for anyone else.
     */
    function participantIndex(IAdjudicator.Params calldata params, address account) internal pure returns (uint256) {
        if (account == params.participants[0]) return 0;
        if (account == params.participants[1]) return 1;
        revert IAdjudicator.NotParticipant(account);
    }

    /**
     * @notice One allocation per asset, in the channel's order, each within the encodable range.
     * @param assets The channel's assets.
     * @param allocations The state's allocations.
     */
    function checkAllocations(address[] calldata assets, IAdjudicator.Allocation[] calldata allocations) internal pure {
        uint256 assetCount = assets.length;
        if (allocations.length != assetCount) {
            revert IAdjudicator.AllocationCountMismatch(assetCount, allocations.length);
        }
        for (uint256 i = 0; i < assetCount; ++i) {
            IAdjudicator.Allocation calldata a = allocations[i];
            if (a.token != assets[i]) revert IAdjudicator.AllocationTokenMismatch(i, assets[i], a.token);
            int256 net = a.net;
            if (net > type(int128).max || net < type(int128).min || (a.withdrawn0 | a.withdrawn1) > type(uint128).max) {
                revert IAdjudicator.AllocationOutOfRange(i);
            }
        }
    }

    /**
     * @notice `signature` must be `expected`'s signature of `digest`.
     * @param digest The EIP-712 digest.
     * @param signature The signature.
     * @param expected The participant who must have signed.
     * @param index That participant's index, named by InvalidSignature.
     */
    function checkSignature(bytes32 digest, bytes calldata signature, address expected, uint256 index) internal pure {
        // tryRecover rejects malleable (high-s) signatures and wrong lengths.
        (address signer, ECDSA.RecoverError error, ) = ECDSA.tryRecoverCalldata(digest, signature);
        if (error != ECDSA.RecoverError.NoError || signer != expected) revert IAdjudicator.InvalidSignature(index);
    }
}
