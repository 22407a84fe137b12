// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {IAdjudicator} from "../interfaces/IAdjudicator.sol";
import {Locks} from "./Locks.sol";
import {StateHashing} from "./StateHashing.sol";
import {Validation} from "./Validation.sol";

/**
 * @title Co-signed states: channel ids, EIP-712 digests, signature checks
 * @author Clearline
 * @notice What makes a state binding: its channel id and the EIP-712 digest both participants sign
 * under this adjudicator's domain (docs/protocol.md).
 * @dev A base of the Adjudicator, which names the EIP-712 domain in its constructor.
 */
abstract contract SignedStates is IAdjudicator, EIP712 {
    /**
     * @notice The id of a channel: its parameters bound to this chain and this adjudicator.
     * @param params The channel's parameters.
     * @return The channel id.
     */
    function channelIdOf(Params calldata params) public view returns (bytes32) {
        return StateHashing.channelId(params);
    }

    /**
     * @notice The EIP-712 digest that both participants sign for `state`.
     * @param state The state.
     * @return The digest.
     */
    function stateDigest(State calldata state) public view returns (bytes32) {
        return StateHashing.digest(state, _domainSeparatorV4());
    }

    /**
     * @notice The EIP-712 domain separator of this adjudicator.
     * @return The separator.
     */
    function domainSeparator() external view returns (bytes32) {
        return _domainSeparatorV4();
    }

    /// @dev Checks the state's shape against the channel and both EIP-712 signatures.
    function _verifiedState(
        Params calldata params,
        State calldata state,
        bytes calldata signature0,
        bytes calldata signature1
    ) internal view returns (bytes32 channelId, bytes32 digest) {
        channelId = StateHashing.channelId(params);
        if (state.channelId != channelId) revert WrongChannel(channelId, state.channelId);
        Validation.checkAllocations(params.assets, state.allocations);
        if (state.isFinal && state.locksRoot != bytes32(0) && state.locksRoot != Locks.EMPTY_LIST_ROOT) {
            revert FinalStateWithLocks(state.locksRoot);
        }
        digest = stateDigest(state);
        Validation.checkSignature(digest, signature0, params.participants[0], 0);
        Validation.checkSignature(digest, signature1, params.participants[1], 1);
    }
}
